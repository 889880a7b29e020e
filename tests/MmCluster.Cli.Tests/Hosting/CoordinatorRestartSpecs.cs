using MmCluster.Cli.Hosting;
using Xunit;

namespace MmCluster.Cli.Tests.Hosting;

public sealed class CoordinatorRestartSpecs : IDisposable
{
    private static readonly string[] FirstStart = ["coordinator", "--spec", "/s.yaml", "--run-dir", "/r", "--port", "4053"];
    private readonly string run = Directory.CreateTempSubdirectory("mmcluster-restart-").FullName;

    [Fact]
    public void Should_start_the_run_over_when_no_checkpoint_was_committed()
    {
        Checkpoint("clip", 5, committed: false);

        var (arguments, plan) = CoordinatorRestart.Arguments(FirstStart, run);

        Assert.Equal(FirstStart, arguments);
        Assert.Equal("no committed checkpoint yet: the run starts over", plan);
    }

    [Fact]
    public void Should_resume_from_the_newest_committed_checkpoint_when_there_is_one()
    {
        Checkpoint("clip", 5, committed: true);
        Checkpoint("clip", 10, committed: true);
        Checkpoint("clip", 15, committed: false);

        var (arguments, plan) = CoordinatorRestart.Arguments(FirstStart, run);

        Assert.Equal([.. FirstStart, "--resume"], arguments);
        Assert.Contains(Path.Combine("checkpoints", "clip", "step-00000010.safetensors"), plan);
    }

    [Fact]
    public void Should_keep_one_resume_flag_when_the_first_start_resumed()
    {
        var (arguments, _) = CoordinatorRestart.Arguments([.. FirstStart, "--resume"], run);

        Assert.Equal([.. FirstStart, "--resume"], arguments);
    }

    private void Checkpoint(string stage, int step, bool committed)
    {
        var folder = Directory.CreateDirectory(Path.Combine(run, "checkpoints", stage)).FullName;
        File.WriteAllText(Path.Combine(folder, $"step-{step:D8}.safetensors"), "");
        if (committed)
        {
            File.WriteAllText(Path.Combine(folder, $"step-{step:D8}.ledger.pb"), "");
        }
    }

    public void Dispose() => Directory.Delete(run, recursive: true);
}
