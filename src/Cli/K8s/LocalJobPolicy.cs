using System.Globalization;
using k8s.Models;
using MmCluster.Cli.Hosting;

namespace MmCluster.Cli.K8s;

/// <summary>
/// What the Job controller does when one of a Job's pods fails, as <c>k8s run-local</c> replays it: a failure that a
/// <c>podFailurePolicy</c> rule with <c>action: FailJob</c> matches (by the container's exit code) fails the Job at once;
/// any other failure counts against <c>backoffLimit</c> (for the whole Job, every index together) and the pod is
/// recreated with the same name and index while the count stays within it. <c>Ignore</c> rules on pod conditions
/// (<c>DisruptionTarget</c>: preemption, eviction) never match here: a local process is not disrupted, only killed.
/// Thread-safe: the pods of one Job share one count.
/// </summary>
internal sealed class LocalJobPolicy
{
    private readonly List<(string Operator, HashSet<int> Values)> failJob = [];
    private int failures;

    public LocalJobPolicy(V1Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        Name = job.Metadata.Name;
        BackoffLimit = job.Spec.BackoffLimit ?? 6; // the Job API's default
        foreach (var rule in job.Spec.PodFailurePolicy?.Rules ?? [])
        {
            if (rule.Action == "FailJob" && rule.OnExitCodes is { } codes)
            {
                if (codes.OperatorProperty is not ("In" or "NotIn"))
                {
                    throw new ArgumentException($"Job {Name}: podFailurePolicy operator '{codes.OperatorProperty}' is not In or NotIn");
                }
                failJob.Add((codes.OperatorProperty, codes.Values.Select(v => (int)v).ToHashSet()));
            }
        }
    }

    public string Name { get; }

    public int BackoffLimit { get; }

    /// <summary>Failures counted against <see cref="BackoffLimit"/> so far.</summary>
    public int Failures => Volatile.Read(ref failures);

    /// <summary>The Job has failed: a FailJob rule matched or the backoff limit was passed.</summary>
    public bool Failed { get; private set; }

    /// <summary>
    /// A pod of this Job exited with <paramref name="exitCode"/> (non-zero; 128+N for signal N, as a container's): null
    /// when the Job recreates it, or why the Job fails instead.
    /// </summary>
    public string? OnPodFailed(int exitCode)
    {
        var why = Posix.SignalOf(exitCode) is { } signal ? $"exit code {exitCode} ({signal})" : $"exit code {exitCode}";
        foreach (var (op, values) in failJob)
        {
            if ((op == "In") == values.Contains(exitCode))
            {
                Failed = true;
                return string.Create(CultureInfo.InvariantCulture,
                    $"Job {Name} failed: {why} matches its podFailurePolicy rule FailJob {op} [{string.Join(", ", values.Order())}]");
            }
        }
        var count = Interlocked.Increment(ref failures);
        if (count > BackoffLimit)
        {
            Failed = true;
            return string.Create(CultureInfo.InvariantCulture, $"Job {Name} failed: {count} pod failures, more than its backoffLimit {BackoffLimit}");
        }
        return null;
    }
}
