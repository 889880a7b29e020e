using MmCluster.Shared.Grpc.Control;
using MmCluster.Shared.Manifest;

namespace MmCluster.Cli.Bench;

/// <summary>
/// The bench's own account of which file rows the simulated workers trained, kept apart from the coordinator's ledger so
/// that the ledger can be checked against it: every step records the rows it read; when a recovery tells which steps of
/// a generation the run keeps, those are folded into per-shard row intervals (a row folded twice is a duplicate) and the
/// discarded ones dropped. At the end the ledger's committed shards must cover exactly the folded rows.
/// </summary>
internal sealed class TrainedRows
{
    private readonly object gate = new();
    private readonly List<Span> pending = [];
    private readonly Dictionary<(int Epoch, int Shard), List<(long From, long To)>> kept = [];

    /// <summary>Rows folded twice (trained by two kept steps).</summary>
    public long DuplicateRows { get; private set; }

    public long RowsKept { get; private set; }

    /// <summary>Step <paramref name="step"/> of <paramref name="generation"/> reads file rows [from, to) of a shard.</summary>
    public void Record(long generation, long step, int epoch, int shard, long from, long to)
    {
        lock (gate)
        {
            pending.Add(new Span(generation, step, epoch, shard, from, to));
        }
    }

    /// <summary>The run keeps the steps of <paramref name="generation"/> up to <paramref name="step"/>; its later ones are discarded.</summary>
    public void Keep(long generation, long step)
    {
        lock (gate)
        {
            foreach (var span in pending.Where(s => s.Generation == generation && s.Step <= step))
            {
                Fold(span);
            }
            pending.RemoveAll(s => s.Generation <= generation);
        }
    }

    /// <summary>
    /// Compares the ledger committed at the end with the kept rows: a shard committed whole must have been trained whole,
    /// a shard committed up to a row exactly up to that row, and no trained shard may be missing from the ledger.
    /// Returns the shards that differ, described.
    /// </summary>
    public List<string> Compare(LedgerSnapshot ledger, IReadOnlyDictionary<int, ShardSpec> shards)
    {
        var problems = new List<string>();
        lock (gate)
        {
            var seen = new HashSet<(int, int)>();
            foreach (var epoch in ledger.Epochs)
            {
                foreach (var committed in epoch.Committed)
                {
                    var key = (epoch.Epoch, committed.ShardId);
                    seen.Add(key);
                    var shard = shards[committed.ShardId];
                    var end = committed.NextRow == 0 ? shard.FirstRow + shard.RowCount : committed.NextRow;
                    var trained = kept.GetValueOrDefault(key) ?? [];
                    if (trained.Count != 1 || trained[0] != (shard.FirstRow, end) || committed.RowsConsumed != end - shard.FirstRow)
                    {
                        problems.Add($"epoch {epoch.Epoch} shard {committed.ShardId}: ledger has rows [{shard.FirstRow}, {end}) " +
                            $"({committed.RowsConsumed} consumed), trained {Describe(trained)}");
                    }
                }
            }
            foreach (var (key, trained) in kept.Where(kv => !seen.Contains(kv.Key)))
            {
                problems.Add($"epoch {key.Epoch} shard {key.Shard}: trained {Describe(trained)}, not in the ledger");
            }
        }
        return problems;
    }

    private void Fold(Span span)
    {
        var key = (span.Epoch, span.Shard);
        if (!kept.TryGetValue(key, out var intervals))
        {
            intervals = [];
            kept[key] = intervals;
        }
        RowsKept += span.To - span.From;
        foreach (var (from, to) in intervals)
        {
            DuplicateRows += Math.Max(0, Math.Min(to, span.To) - Math.Max(from, span.From));
        }
        intervals.Add((span.From, span.To));
        intervals.Sort();
        var merged = new List<(long From, long To)>();
        foreach (var interval in intervals)
        {
            if (merged.Count > 0 && interval.From <= merged[^1].To)
            {
                merged[^1] = (merged[^1].From, Math.Max(merged[^1].To, interval.To));
            }
            else
            {
                merged.Add(interval);
            }
        }
        intervals.Clear();
        intervals.AddRange(merged);
    }

    private static string Describe(List<(long From, long To)> intervals) =>
        intervals.Count == 0 ? "nothing" : string.Join(" ", intervals.Select(i => $"[{i.From}, {i.To})"));

    private readonly record struct Span(long Generation, long Step, int Epoch, int Shard, long From, long To);
}
