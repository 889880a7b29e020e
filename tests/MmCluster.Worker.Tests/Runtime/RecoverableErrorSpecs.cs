using System.Runtime.InteropServices;
using MmCluster.Collectives;
using MmCluster.Shared.Manifest;
using MmCluster.Worker.Actors;
using MmCluster.Worker.Runtime;
using Xunit;

namespace MmCluster.Worker.Tests.Runtime;

/// <summary>Which errors of a generation a new generation can cure (a recovery) and which fail the run at once.</summary>
public sealed class RecoverableErrorSpecs
{
    [Fact]
    public void Should_retry_in_a_new_generation_when_a_collective_broke_or_the_generation_was_aborted()
    {
        Assert.True(StageTrainingSession.Recoverable(new CollectiveException("rank 1 died", 1), aborted: false));
        Assert.True(StageTrainingSession.Recoverable(new GenerationAbortedException("generation 3 aborted"), aborted: false));
        Assert.True(StageTrainingSession.Recoverable(new OperationCanceledException(), aborted: true));
        Assert.True(StageTrainingSession.Recoverable(new StepFailedException("step 7 failed in libtorch", new ExternalException("c10")), aborted: false));
        Assert.True(StageTrainingSession.Recoverable(new InvalidOperationException("wrapped", new CollectiveException("lost", 0)), aborted: false));
    }

    [Fact]
    public void Should_fail_the_run_when_the_error_is_in_the_spec_the_weights_or_the_manifest()
    {
        Assert.False(StageTrainingSession.Recoverable(new InvalidDataException("init.from: tensor 'logit_scale' has shape [2]"), aborted: false));
        Assert.False(StageTrainingSession.Recoverable(new ManifestException("the footer lies", "a.parquet"), aborted: false));
        Assert.False(StageTrainingSession.Recoverable(new ExternalException("libtorch failed while loading weights"), aborted: false));
    }
}
