using MmCluster.Shared.Hosting;
using MmCluster.Worker.Actors;

namespace MmCluster.Worker.Hosting;

/// <summary>Everything a worker process needs to join a run's cluster.</summary>
public sealed record WorkerOptions
{
    /// <summary>This member's place in the cluster: seed nodes = the coordinator's address; the worker role is added.</summary>
    public required AkkaSettings Akka { get; init; }

    /// <summary>Worker id, collective address, device and threads, as registered with the coordinator.</summary>
    public required WorkerAgentSettings Agent { get; init; }
}
