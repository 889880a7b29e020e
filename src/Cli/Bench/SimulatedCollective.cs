using Akka.Actor;

namespace MmCluster.Cli.Bench;

/// <summary>
/// The collectives of one simulated generation, reduced to what the coordinator can observe: a step is trained when every
/// rank arrived at it (a barrier standing in for the gradient all-reduce), and a killed rank breaks the group so that no
/// later step trains, as a real rank's broken collective streams do. Thread-safe: the ranks arrive from the dispatcher's
/// threads, the bench breaks it from its own.
/// </summary>
internal sealed class SimulatedCollective(long generation, int worldSize)
{
    private readonly object gate = new();
    private readonly List<IActorRef> arrived = [];
    private long arrivingStep = -1;

    public long Generation { get; } = generation;

    /// <summary>The last step every rank arrived at (trained); -1 before the first.</summary>
    public long LastTrained { get; private set; } = -1;

    public bool Broken { get; private set; }

    /// <summary>A rank arrives at <paramref name="step"/>; the last one to arrive releases every rank with <see cref="StepTrained"/>.</summary>
    public void Arrive(long step, IActorRef rank)
    {
        lock (gate)
        {
            if (Broken)
            {
                return;
            }
            if (step != arrivingStep)
            {
                arrived.Clear();
                arrivingStep = step;
            }
            arrived.Add(rank);
            if (arrived.Count < worldSize)
            {
                return;
            }
            LastTrained = step;
            var trained = new StepTrained(Generation, step);
            foreach (var each in arrived)
            {
                each.Tell(trained);
            }
            arrived.Clear();
        }
    }

    /// <summary>A rank was killed: no step after the last trained one completes in this generation.</summary>
    public long Break()
    {
        lock (gate)
        {
            Broken = true;
            return LastTrained;
        }
    }
}

/// <summary>Sent by <see cref="SimulatedCollective"/> to every rank once all of them arrived at a step.</summary>
internal sealed record StepTrained(long Generation, long Step);
