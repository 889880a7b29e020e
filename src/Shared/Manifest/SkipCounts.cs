namespace MmCluster.Shared.Manifest;

/// <summary>
/// Skipped rows counted by reason name (a <see cref="RowSkipReason"/>'s name, as the worker reports it in
/// <c>ShardCompleted.skipped_by_reason</c>): the one shape the ledger, <c>summary.json</c>, <c>metrics.jsonl</c> and
/// the dashboard use. Always non-zero counts only, in ordinal order of the names, so two equal counts print alike.
/// </summary>
public static class SkipCounts
{
    public static readonly IReadOnlyDictionary<string, long> None = new SortedDictionary<string, long>(StringComparer.Ordinal);

    /// <summary>The non-zero counts of <paramref name="counts"/>, by name (null: none).</summary>
    public static IReadOnlyDictionary<string, long> From(IEnumerable<KeyValuePair<string, long>>? counts) =>
        Sum(counts is null ? [] : [counts]);

    /// <summary>A reader's counts by <see cref="RowSkipReason"/>, by name.</summary>
    public static IReadOnlyDictionary<string, long> From(IReadOnlyDictionary<RowSkipReason, long> counts) =>
        From(counts.Select(kv => KeyValuePair.Create(kv.Key.ToString(), kv.Value)));

    /// <summary>The counts of every reason summed over <paramref name="counts"/>.</summary>
    public static IReadOnlyDictionary<string, long> Sum(IEnumerable<IEnumerable<KeyValuePair<string, long>>> counts)
    {
        var sum = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var (reason, rows) in counts.SelectMany(c => c))
        {
            sum[reason] = sum.GetValueOrDefault(reason) + rows;
        }
        foreach (var zero in sum.Where(kv => kv.Value == 0).Select(kv => kv.Key).ToList())
        {
            sum.Remove(zero);
        }
        return sum;
    }

    /// <summary>Whether two counts hold the same rows for the same reasons.</summary>
    public static bool Same(IReadOnlyDictionary<string, long> a, IReadOnlyDictionary<string, long> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var rows) && rows == kv.Value);

    /// <summary>"2 EmptyCaption, 1 ImageUndecodable", or "none".</summary>
    public static string Describe(IReadOnlyDictionary<string, long> counts) =>
        counts.Count == 0 ? "none" : string.Join(", ", counts.Select(kv => $"{kv.Value} {kv.Key}"));
}
