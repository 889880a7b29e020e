using MmCluster.Shared.Grpc.Control;
using MmCluster.Shared.Manifest;
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

    /// <summary>The feed produced one row of <paramref name="entry"/>: the row at <paramref name="fileRow"/> of its file.</summary>
    public void Produced(Entry entry, long fileRow)
    {
        lock (gate)
        {
            entry.Produced++;
            entry.Rows.Enqueue(fileRow);
        }
    }

    /// <summary>The reader skipped a row of <paramref name="entry"/> as bad.</summary>
    public void Skipped(Entry entry, RowSkip skip) => Skipped(entry, skip.Row, skip.Reason.ToString());

    /// <summary>
    /// The reader passed over the row at <paramref name="fileRow"/> of <paramref name="entry"/> for
    /// <paramref name="reason"/>: a bad row, or one of another split, counted like a skip so a cursor inside the lease
    /// accounts for it too (a lease continued after a recovery starts after it and would never see it again).
    /// </summary>
    public void Skipped(Entry entry, long fileRow, string reason)
    {
        lock (gate)
        {
            entry.Skips.Add((fileRow, reason));
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

    /// <summary>
    /// A step trains <paramref name="rows"/> more rows: returns where each lease it reads from stands after it (the cursors
    /// the coordinator keeps for a recovery) and the leases it consumes fully, in order.
    /// </summary>
    public StepConsumption Consume(int rows)
    {
        var done = new List<ConsumedLease>();
        var cursors = new List<LeaseCursor>();
        lock (gate)
        {
            var remaining = rows;
            var node = entries.First;
            while (node is not null)
            {
                var entry = node.Value;
                var take = (int)Math.Min(remaining, entry.Produced - entry.Consumed);
                for (var i = 0; i < take; i++)
                {
                    entry.NextRow = entry.Rows.Dequeue() + 1;
                }
                entry.Consumed += take;
                remaining -= take;
                var finished = entry.ReadingDone && entry.Consumed == entry.Produced;
                if (take > 0 || finished)
                {
                    cursors.Add(entry.Cursor(finished));
                }
                var next = node.Next;
                if (finished)
                {
                    done.Add(new ConsumedLease(entry.Lease, entry.Consumed, entry.Skipped));
                    entries.Remove(node);
                    node = next;
                    continue;
                }
                if (remaining == 0 || take == 0)
                {
                    break;
                }
                node = next;
            }
            if (remaining > 0)
            {
                throw new InvalidOperationException($"a step trained {rows} rows but only {rows - remaining} were read from leases");
            }
        }
        return new StepConsumption(done, cursors);
    }

    /// <summary>One lease as the feed reads it and the trainer consumes it.</summary>
    internal sealed class Entry(ShardLease lease)
    {
        public ShardLease Lease { get; } = lease;

        /// <summary>File rows of the produced rows not yet consumed, in order.</summary>
        public Queue<long> Rows { get; } = new();

        /// <summary>Rows the reader skipped, with their file row.</summary>
        public List<(long Row, string Reason)> Skips { get; } = [];

        /// <summary>The file row after the last consumed one (the lease's start until a row is consumed).</summary>
        public long NextRow { get; set; } = lease.Shard.ReadStart;

        /// <summary>
        /// Where the lease stands: every row before <see cref="NextRow"/> handled (the whole shard once
        /// <paramref name="finished"/>), with the rows trained and the skipped rows before it.
        /// </summary>
        public LeaseCursor Cursor(bool finished)
        {
            var next = finished ? Lease.Shard.ReadEnd : NextRow;
            var cursor = new LeaseCursor { Epoch = Lease.Epoch, ShardId = Lease.Shard.ShardId, NextRow = next, Trained = Consumed };
            foreach (var group in Skips.Where(s => s.Row < next).GroupBy(s => s.Reason, StringComparer.Ordinal))
            {
                cursor.SkippedByReason[group.Key] = group.LongCount();
            }
            return cursor;
        }

        public long Produced { get; set; }

        public long Consumed { get; set; }

        public bool ReadingDone { get; set; }

        public IReadOnlyDictionary<string, long> Skipped { get; set; } = new Dictionary<string, long>();
    }

    /// <summary>A lease whose rows have all been trained: the rows trained and the rows skipped, by reason.</summary>
    internal sealed record ConsumedLease(ShardLease Lease, long Rows, IReadOnlyDictionary<string, long> Skipped);

    /// <summary>What one step consumes: the leases it finishes and where every lease it reads from stands after it.</summary>
    internal sealed record StepConsumption(IReadOnlyList<ConsumedLease> Done, IReadOnlyList<LeaseCursor> Cursors);
}
