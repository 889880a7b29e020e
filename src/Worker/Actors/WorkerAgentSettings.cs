namespace MmCluster.Worker.Actors;

/// <summary>What a worker tells the coordinator when it registers.</summary>
/// <param name="WorkerId">Unique in the run; ranks follow the ids' order (<c>worker-2</c> before <c>worker-10</c>).</param>
/// <param name="CollectiveAddress">Where this worker's collective gRPC service listens, for the peer table.</param>
/// <param name="Device">"cpu", "cuda:0", ...</param>
/// <param name="Threads">Torch threads this worker trains with.</param>
public sealed record WorkerAgentSettings(string WorkerId, string CollectiveAddress, string Device = "cpu", int Threads = 1)
{
    /// <summary>How often registration is repeated until the coordinator answers with StartGeneration.</summary>
    public TimeSpan RegisterInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long the worker waits to see the coordinator's member up in the cluster before it gives up with a clear error
    /// (the seed is wrong or the coordinator is not running) instead of retrying the join for ever.
    /// </summary>
    public TimeSpan JoinTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Where the worker looks for the coordinator (the seed address), for the join-timeout message.</summary>
    public string? CoordinatorHint { get; init; }

    /// <summary>The uid of the Kubernetes Job this worker's pod belongs to (MMCLUSTER_JOB_UID); empty outside one.</summary>
    public string JobUid { get; init; } = "";

    /// <summary>This agent rejoins after the worker lost its coordinator (<see cref="RunEnded.RejoinWithin"/>), in the same process.</summary>
    public bool Rejoining { get; init; }
}
