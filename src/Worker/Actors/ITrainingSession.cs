namespace MmCluster.Worker.Actors;

/// <summary>
/// The trainer as the worker's agent actor sees it. Both calls come from the actor's mailbox and must return at
/// once: start or stop work on the trainer's own thread. The trainer talks back through <see cref="IControlPlane"/>.
/// </summary>
public interface ITrainingSession
{
    /// <summary>
    /// The coordinator assigned this worker its rank and sent the peer table and the stage. Called again, with a higher
    /// generation, for each later stage of the run's schedule once the trainer reported the previous one finished.
    /// </summary>
    void OnGenerationStarted(GenerationInfo generation, IControlPlane control);

    /// <summary>
    /// The coordinator aborted <paramref name="generation"/> (a peer was lost, or the world grows): stop the current step
    /// at once, keep the training state, report the completed step (<see cref="IControlPlane.ReportAborted"/>) and wait for
    /// the next generation.
    /// </summary>
    /// <remarks>No default body: a session that wraps another must pass it on (a wrapper that did not left a survivor
    /// blocked in its collective until the deadline).</remarks>
    void OnGenerationAborted(long generation, string reason);

    /// <summary>
    /// The coordinator drains <paramref name="generation"/> (the world grows): finish the steps up to
    /// <paramref name="afterStep"/>, then stop at that step boundary without breaking the collectives, keep the state and
    /// report the completed step (<see cref="IControlPlane.ReportAborted"/>) as after an abort. A session that cannot
    /// drains by aborting (the step in flight is then lost).
    /// </summary>
    void OnGenerationDrain(long generation, long afterStep, string reason) => OnGenerationAborted(generation, reason);

    /// <summary>The run ended (finished, failed, or the coordinator was lost). Called once; abort the current step.</summary>
    void OnRunEnded(RunEnded ended);
}
