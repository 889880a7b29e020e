namespace MmCluster.Worker.Runtime;

/// <summary>
/// A training step failed inside libtorch before it changed the weights: the trainer still holds the last completed
/// step, so the generation is aborted and retried (a recovery) rather than the run failed. An error that repeats uses up
/// the run's <c>recovery.max_restarts</c> and then fails the run naming every cause.
/// </summary>
public sealed class StepFailedException(string message, Exception inner) : Exception(message, inner);
