using MmCluster.Collectives;
using MmCluster.Shared.Runs;
using MmCluster.Worker.Actors;

namespace MmCluster.Worker.Runtime;

/// <summary>What a stage's trainer is built from: its generation (rank, world), its config, the open collective group and the log.</summary>
internal sealed record StageContext(GenerationInfo Generation, StageConfig Config, ICollectiveGroup Group, Action<string> Log)
{
    public int Rank => Generation.Rank;

    public int WorldSize => Generation.WorldSize;

    /// <summary>
    /// The worker joins a stage that is already training (a replacement after a failure): its trainer is built without
    /// rank 0's weights broadcast and without the resume checkpoint, since every rank takes the source rank's state next.
    /// </summary>
    public bool Joining { get; init; }
}
