using System.Net;
using MmCluster.Cli.Commands;
using MmCluster.Shared.Runs;
using MmCluster.Shared.Spec;
using Xunit;
using Proto = MmCluster.Shared.Grpc.Dashboard;

namespace MmCluster.Cli.Tests.Commands;

/// <summary>Runs <c>mmcluster dashboard --run-dir</c> on a finished run's files and reads the page's API.</summary>
public sealed class DashboardCommandSpecs
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Should_serve_the_run_s_snapshot_behind_its_token_until_stopped_when_the_run_directory_has_a_summary()
    {
        var run = Directory.CreateTempSubdirectory("mm-dashboard-cmd-");
        try
        {
            using (var metrics = new MetricsJsonlWriter(Path.Combine(run.FullName, "metrics.jsonl")))
            {
                metrics.Append(new HistoryPoint { Stage = "clip", Step = 10, Losses = new Dictionary<string, double> { ["loss"] = 1.5 } });
            }
            RunSummary.From(new RunSnapshot
            {
                RunId = "run-9",
                State = RunState.Succeeded,
                Stages = [new StageProgress { Name = "clip", Kind = StageKind.Clip, State = StageState.Done, Step = 10, TotalSteps = 10 }],
            }).Write(Path.Combine(run.FullName, "summary.json"));
            using var stop = new CancellationTokenSource(Timeout);
            var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
            var output = new StringWriter();

            var serving = DashboardCommand.RunAsync(run.FullName, IPAddress.Loopback, 0, "t0k", output, listening.SetResult, stop.Token);
            var address = await listening.Task.WaitAsync(Timeout);
            using var client = new HttpClient { BaseAddress = address, Timeout = Timeout };
            using var refused = await client.GetAsync("/api/snapshot");
            var snapshot = Proto.RunSnapshot.Parser.ParseJson(await client.GetStringAsync("/api/snapshot?token=t0k"));
            await stop.CancelAsync();

            Assert.Equal(0, await serving.WaitAsync(Timeout));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal(("run-9", Proto.RunState.Succeeded, 10L), (snapshot.RunId, snapshot.State, snapshot.Step));
            Assert.Contains($"{address}?token=t0k", output.ToString());
        }
        finally
        {
            run.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Should_refuse_to_start_naming_the_missing_summary_when_the_run_did_not_finish()
    {
        var run = Directory.CreateTempSubdirectory("mm-dashboard-cmd-");
        try
        {
            var error = await Assert.ThrowsAsync<FileNotFoundException>(() =>
                DashboardCommand.RunAsync(run.FullName, IPAddress.Loopback, 0, null, TextWriter.Null, _ => { }, CancellationToken.None));

            Assert.Contains("summary.json", error.Message);
        }
        finally
        {
            run.Delete(recursive: true);
        }
    }
}
