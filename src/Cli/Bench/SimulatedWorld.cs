using System.Collections.Concurrent;
using System.Diagnostics;

namespace MmCluster.Cli.Bench;

/// <summary>
/// What the simulated workers of <c>bench coordinator --failures N</c> share besides the coordinator: one
/// <see cref="SimulatedCollective"/> per generation, when each generation's <c>StartGeneration</c> reached its last rank
/// (the end of a recovery as the workers see it), and the rows every step trained (<see cref="TrainedRows"/>).
/// </summary>
internal sealed class SimulatedWorld(int worldSize)
{
    private readonly ConcurrentDictionary<long, SimulatedCollective> collectives = new();
    private readonly ConcurrentDictionary<long, Arrivals> arrivals = new();

    public TrainedRows Trained { get; } = new();

    public SimulatedCollective Collective(long generation, int ranks) => collectives.GetOrAdd(generation, g => new SimulatedCollective(g, ranks));

    /// <summary>The collective of <paramref name="generation"/>, if some rank has started it.</summary>
    public SimulatedCollective? CollectiveOf(long generation) => collectives.GetValueOrDefault(generation);

    /// <summary>A rank received generation <paramref name="generation"/>'s <c>StartGeneration</c>.</summary>
    public void Started(long generation) => ArrivalsOf(generation).Add(worldSize);

    /// <summary>Completes with the <see cref="Stopwatch"/> timestamp at which the last of the world size received the generation.</summary>
    public Task<long> AllStarted(long generation) => ArrivalsOf(generation).All.Task;

    private Arrivals ArrivalsOf(long generation) => arrivals.GetOrAdd(generation, _ => new Arrivals());

    private sealed class Arrivals
    {
        private int count;

        public TaskCompletionSource<long> All { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Add(int expected)
        {
            if (Interlocked.Increment(ref count) == expected)
            {
                All.TrySetResult(Stopwatch.GetTimestamp());
            }
        }
    }
}
