using MmCluster.Shared.Runs;
using MmCluster.Worker.Hosting;
using Xunit;

namespace MmCluster.Worker.Tests.Hosting;

/// <summary>When a worker that found no coordinator may end as done: the shared run directory's summary.json decides.</summary>
public sealed class FinishedRunCheckSpecs : IDisposable
{
    private const string MyJob = "6f1c2a9e-0000-4000-8000-000000000001";
    private readonly string runDir = Directory.CreateTempSubdirectory("mmcluster-finished-").FullName;

    private string SummaryPath => Path.Combine(runDir, "summary.json");

    [Fact]
    public void Should_end_as_done_when_the_run_succeeded_with_workers_of_this_workers_job()
    {
        WriteSummary("succeeded", jobs: ["0c0c0c0c-0000-4000-8000-000000000009", MyJob]);

        var finished = FinishedRunCheck.Finished(runDir, MyJob, out var why);

        Assert.Equal($"run r-1 ('demo') of this worker's Job finished at 2026-12-08 03:57:00Z ({SummaryPath}): " +
            "a late replacement with nothing left to do", finished);
        Assert.Null(why);
    }

    [Fact]
    public void Should_not_end_as_done_on_a_summary_an_earlier_run_of_another_job_left()
    {
        WriteSummary("succeeded", jobs: ["0c0c0c0c-0000-4000-8000-000000000009"]);

        Assert.Null(FinishedRunCheck.Finished(runDir, MyJob, out var why));
        Assert.Equal($"{SummaryPath} is run r-1's, whose workers were not of this worker's Job {MyJob}", why);
    }

    [Theory]
    [InlineData("failed")]
    [InlineData("cancelled")]
    public void Should_not_end_as_done_when_the_run_of_this_job_did_not_succeed(string status)
    {
        WriteSummary(status, jobs: [MyJob]);

        Assert.Null(FinishedRunCheck.Finished(runDir, MyJob, out var why));
        Assert.Equal($"{SummaryPath} says run r-1 is {status}", why);
    }

    [Fact]
    public void Should_not_end_as_done_without_a_job_uid_even_on_a_summary_with_no_jobs()
    {
        WriteSummary("succeeded", jobs: []);

        Assert.Null(FinishedRunCheck.Finished(runDir, "", out var why));
        Assert.Null(why);
    }

    [Fact]
    public void Should_say_nothing_when_there_is_no_summary()
    {
        Assert.Null(FinishedRunCheck.Finished(runDir, MyJob, out var why));
        Assert.Null(why);
    }

    [Fact]
    public void Should_name_the_file_when_the_summary_cannot_be_read()
    {
        File.WriteAllText(SummaryPath, "{ \"status\": ");

        Assert.Null(FinishedRunCheck.Finished(runDir, MyJob, out var why));
        Assert.StartsWith($"{SummaryPath} could not be read:", why);
    }

    [Fact]
    public void Should_read_the_jobs_back_as_summary_json_writes_them()
    {
        WriteSummary("succeeded", jobs: [MyJob]);

        Assert.Contains("\"worker_jobs\": [", File.ReadAllText(SummaryPath));
        Assert.Equal([MyJob], RunSummary.Read(SummaryPath).WorkerJobs);
    }

    private void WriteSummary(string status, IReadOnlyList<string> jobs) => new RunSummary
    {
        Status = status, RunId = "r-1", RunName = "demo", WorldSize = 2,
        StartedAt = new DateTimeOffset(2026, 12, 8, 3, 37, 0, TimeSpan.Zero), FinishedAt = new DateTimeOffset(2026, 12, 8, 3, 57, 0, TimeSpan.Zero),
        WorkerJobs = jobs,
    }.Write(SummaryPath);

    public void Dispose() => Directory.Delete(runDir, recursive: true);
}
