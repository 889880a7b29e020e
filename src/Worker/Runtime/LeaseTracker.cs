using MmCluster.Worker.Actors;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// Follows the rows of each leased shard from reading to training: rows are trained in the order they were read, so a
/// shard is consumed once its last row's step has run. Then the trainer reports it to the coordinator's ledger.
/// Thread-safe: the data feed adds, the training thread consumes.
/// </summary>
internal sealed class LeaseTracker
{
    private readonly object gate = new();
    private readonly LinkedList<Entry> entries = new();

    /// <summary>A new lease starts being read (its rows follow in order).</summary>
    public Entry Begin(ShardLease lease)
    {
        lock (gate)
        {
            var entry = new Entry(lease);
            entries.AddLast(entry);
            return entry;
        }
    }

    /// <summary>The feed produced one row of <paramref name="entry"/>.</summary>
    public void Produced(Entry entry, int rows = 1)
    {
        lock (gate)
        {
            entry.Produced += rows;
        }
    }

    /// <summary>The feed read the whole lease, skipping <paramref name="skippedByReason"/> of its rows as bad.</summary>
    public void Finished(Entry entry, IReadOnlyDictionary<string, long>? skippedByReason = null)
    {
        lock (gate)
        {
            entry.ReadingDone = true;
            entry.Skipped = skippedByReason ?? entry.Skipped;
        }
    }

    /// <summary>A step trained <paramref name="rows"/> more rows; returns the leases now fully consumed, in order.</summary>
    public IReadOnlyList<ConsumedLease> Consume(int rows)
    {
        var done = new List<ConsumedLease>();
        lock (gate)
        {
            var remaining = rows;
            while (entries.First is { } node)
            {
                var entry = node.Value;
                var take = (int)Math.Min(remaining, entry.Produced - entry.Consumed);
                entry.Consumed += take;
                remaining -= take;
                if (entry.ReadingDone && entry.Consumed == entry.Produced)
                {
                    done.Add(new ConsumedLease(entry.Lease, entry.Consumed, entry.Skipped));
                    entries.RemoveFirst();
                    continue;
                }
                if (remaining == 0 || take == 0)
                {
                    break;
                }
            }
            if (remaining > 0)
            {
                throw new InvalidOperationException($"a step trained {rows} rows but only {rows - remaining} were read from leases");
            }
        }
        return done;
    }

    /// <summary>One lease as the feed reads it and the trainer consumes it.</summary>
    internal sealed class Entry(ShardLease lease)
    {
        public ShardLease Lease { get; } = lease;

        public long Produced { get; set; }

        public long Consumed { get; set; }

        public bool ReadingDone { get; set; }

        public IReadOnlyDictionary<string, long> Skipped { get; set; } = new Dictionary<string, long>();
    }

    /// <summary>A lease whose rows have all been trained: the rows trained and the rows skipped, by reason.</summary>
    internal sealed record ConsumedLease(ShardLease Lease, long Rows, IReadOnlyDictionary<string, long> Skipped);
}
