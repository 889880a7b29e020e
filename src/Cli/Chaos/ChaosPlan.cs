namespace MmCluster.Cli.Chaos;

/// <summary>
/// The faults <c>mmcluster dev --chaos</c> injects: the listed <see cref="Actions"/> and, optionally, a
/// <see cref="Random"/> stream of kills. Parsed from the option's text by <see cref="Parse"/>; the syntax is in
/// docs/chaos.md.
/// </summary>
internal sealed record ChaosPlan(IReadOnlyList<ChaosAction> Actions, RandomChaos? Random)
{
    public static ChaosPlan None { get; } = new([], null);

    public bool IsEmpty => Actions.Count == 0 && Random is null;

    /// <summary>
    /// Parses <c>clause; clause; ...</c>. Throws <see cref="ArgumentException"/> naming the bad clause, its number and the
    /// word that does not fit: <c>chaos clause 2 'stop worker-0 for 30 at step 200': expected a duration like 30s, got '30' (word 4)</c>.
    /// </summary>
    public static ChaosPlan Parse(string text) => ChaosPlanParser.Parse(text);

    /// <summary>Throws <see cref="ArgumentException"/> when an action targets a worker the cluster does not have.</summary>
    public void CheckTargets(int workers)
    {
        foreach (var action in Actions)
        {
            if (action.Target != ChaosAction.Coordinator && int.Parse(action.Target["worker-".Length..], System.Globalization.CultureInfo.InvariantCulture) >= workers)
            {
                throw new ArgumentException(
                    $"chaos '{action.Describe()}': there is no {action.Target} in a cluster of {workers} workers (worker-0 to worker-{workers - 1})");
            }
        }
    }
}
