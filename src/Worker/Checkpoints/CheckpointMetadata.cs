namespace MmCluster.Worker.Checkpoints;

/// <summary>
/// What a commit records besides tensors: the step (optimizer steps completed), epoch, the run's seed, and the
/// coordinator's shard ledger as an opaque JSON string, so a resumed run continues exactly where this one stood.
/// </summary>
public sealed record CheckpointMetadata(long Step, int Epoch, long Seed, string LedgerJson = "{}")
{
    /// <summary>Any further string pairs to keep (run id, stage name...); stored under "extra.&lt;key&gt;".</summary>
    public IReadOnlyDictionary<string, string> Extra { get; init; } = new Dictionary<string, string>();
}
