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
    private readonly Dictionary<(int Epoch, string File, long FirstRow), List<(long From, long To)>> kept = [];

    /// <summary>Rows folded twice (trained by two kept steps).</summary>
    public long DuplicateRows { get; private set; }

    public long RowsKept { get; private set; }

    /// <summary>
    /// Step <paramref name="step"/> of <paramref name="generation"/> reads file rows [from, to) of the plan shard that starts
    /// at <paramref name="firstRow"/> of <paramref name="file"/> (a piece of a split shard counts as its plan shard).
    /// </summary>
    public void Record(long generation, long step, int epoch, string file, long firstRow, long from, long to)
    {
        lock (gate)
        {
            pending.Add(new Span(generation, step, epoch, file, firstRow, from, to));
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
    /// Compares the ledger committed at the end with the kept rows, per plan shard: the rows its committed entries cover
    /// (the whole shard or piece, or up to a row) must be exactly the rows trained, their consumed counts must add up to
    /// them, and no trained shard may be missing from the ledger. Returns the shards that differ, described.
    /// </summary>
    public List<string> Compare(LedgerSnapshot ledger, IReadOnlyDictionary<int, ShardSpec> shards)
    {
        var problems = new List<string>();
        lock (gate)
        {
            var committedRows = new Dictionary<(int Epoch, string File, long FirstRow), (List<(long From, long To)> Ranges, long Consumed)>();
            foreach (var epoch in ledger.Epochs)
            {
                foreach (var committed in epoch.Committed)
                {
                    var shard = shards[committed.Piece ? committed.PlanShardId : committed.ShardId];
                    var key = (epoch.Epoch, shard.File, shard.FirstRow);
                    var start = committed.Piece ? committed.PieceFirstRow : shard.FirstRow;
                    var end = committed.NextRow != 0 ? committed.NextRow : committed.Piece ? committed.PieceEndRow : shard.FirstRow + shard.RowCount;
                    var entry = committedRows.GetValueOrDefault(key, ([], 0));
                    entry.Ranges.Add((start, end));
                    committedRows[key] = (entry.Ranges, entry.Consumed + committed.RowsConsumed);
                }
            }
            foreach (var (key, (ranges, consumed)) in committedRows)
            {
                var ledgerRows = Merge(ranges);
                var trained = kept.GetValueOrDefault(key) ?? [];
                if (!ledgerRows.SequenceEqual(trained) || consumed != ledgerRows.Sum(r => r.To - r.From))
                {
                    problems.Add($"epoch {key.Epoch} shard at row {key.FirstRow} of {key.File}: ledger has rows {Describe(ledgerRows)} " +
                        $"({consumed} consumed), trained {Describe(trained)}");
                }
            }
            foreach (var (key, trained) in kept.Where(kv => !committedRows.ContainsKey(kv.Key)))
            {
                problems.Add($"epoch {key.Epoch} shard at row {key.FirstRow} of {key.File}: trained {Describe(trained)}, not in the ledger");
            }
        }
        return problems;
    }

    private void Fold(Span span)
    {
        var key = (span.Epoch, span.File, span.FirstRow);
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
        var merged = Merge(intervals);
        intervals.Clear();
        intervals.AddRange(merged);
    }

    /// <summary>The union of <paramref name="intervals"/> as sorted, disjoint, non-adjacent intervals.</summary>
    private static List<(long From, long To)> Merge(IEnumerable<(long From, long To)> intervals)
    {
        var merged = new List<(long From, long To)>();
        foreach (var interval in intervals.Where(i => i.To > i.From).Order())
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
        return merged;
    }

    private static string Describe(List<(long From, long To)> intervals) =>
        intervals.Count == 0 ? "nothing" : string.Join(" ", intervals.Select(i => $"[{i.From}, {i.To})"));

    private readonly record struct Span(long Generation, long Step, int Epoch, string File, long FirstRow, long From, long To);
}
