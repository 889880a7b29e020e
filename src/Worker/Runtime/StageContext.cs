using MmCluster.Collectives;
using MmCluster.Shared.Runs;
using MmCluster.Worker.Actors;

namespace MmCluster.Worker.Runtime;

/// <summary>What a stage's trainer is built from: its generation (rank, world), its config, the open collective group and the log.</summary>
internal sealed record StageContext(GenerationInfo Generation, StageConfig Config, ICollectiveGroup Group, Action<string> Log)
{
    /// <summary>
    /// True for a replacement worker that joins a stage already running (a recovery generation): its trainer loads the
    /// recipe's start weights and frozen prefixes and gets its averager and step, but neither takes rank 0's weights nor
    /// loads the resume checkpoint, because <see cref="IStageTrainer.TransferState"/> follows at once on every rank and
    /// brings the source rank's full state. False (the default): a stage that starts, every rank together.
    /// </summary>
    public bool Joining { get; init; }

    public int Rank => Generation.Rank;

    public int WorldSize => Generation.WorldSize;
}
