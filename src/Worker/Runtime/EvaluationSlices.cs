using MmCluster.Collectives;
using MmCluster.Shared.Runs;
using MmCluster.Worker.Training;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// This rank's slice of the test split for the generation it is in now: loaded at the first evaluation, and loaded
/// again when a recovery changed the rank or the world size (every W-th row from the rank), so the ranks of every
/// generation evaluate the whole split between them, each row once. <paramref name="group"/> is the stage's collective
/// group, whose rank and world follow the current generation.
/// </summary>
internal sealed class EvaluationSlices(StageConfig config, ImageDecoder decoder, ICollectiveGroup group)
{
    private EvaluationSet? loaded;
    private (int Rank, int World) loadedFor;

    /// <summary>The current generation's slice (loading it when it is not the one held).</summary>
    public EvaluationSet Current()
    {
        var now = (group.Rank, group.WorldSize);
        if (loaded is null || now != loadedFor)
        {
            loaded = EvaluationSet.LoadAsync(config, decoder, now.Rank, now.WorldSize, CancellationToken.None).GetAwaiter().GetResult();
            loadedFor = now;
        }
        return loaded;
    }
}
