using MmCluster.Shared.Grpc.Control;
using MmCluster.Shared.Manifest;

namespace MmCluster.Coordinator.Ledger;

/// <summary>
/// The coordinator's book of shards, per epoch: pending, leased (by worker), done-uncommitted and committed.
/// Plain bookkeeping with no Akka in it, so <c>ShardLedgerActor</c> only moves messages. Epochs are planned lazily,
/// on the first request for them, by the injected plan function (the ShardPlanner: deterministic from seed and epoch).
/// </summary>
public sealed class ShardLedger
{
    private readonly Func<int, EpochPlan> planEpoch;
    private readonly SortedDictionary<int, EpochBook> epochs = [];
    private readonly Dictionary<int, EpochLedger> restored;
    private IReadOnlyDictionary<string, int>? rowsPerStep;

    /// <param name="planEpoch">Plans one epoch; called once per epoch.</param>
    /// <param name="restore">The ledger stored in the checkpoint to resume from, or null for a fresh run.</param>
    public ShardLedger(Func<int, EpochPlan> planEpoch, LedgerSnapshot? restore = null)
    {
        this.planEpoch = planEpoch;
        restored = restore?.Epochs.ToDictionary(e => e.Epoch) ?? [];
    }

    /// <summary>
    /// A new generation starts with these workers, each training <c>rowsPerStep[worker]</c> rows per step (every lease was
    /// returned by <see cref="Recover"/> or none was made yet). From now on each worker gets its share of every epoch's
    /// remaining rows and no more, in proportion to its rows per step; the shard that would take it past its share is
    /// split, so every rank reaches an epoch's end at the same step and nobody reads ahead into the next epoch while an
    /// epoch's rows are still unread by the others (docs/fault-tolerance.md, "Shares of an epoch").
    /// </summary>
    public void BeginGeneration(IReadOnlyDictionary<string, int> rowsPerStep)
    {
        if (rowsPerStep.Count == 0 || rowsPerStep.Values.Any(r => r < 1))
        {
            throw new ArgumentException("a generation has at least one worker, each training at least one row per step", nameof(rowsPerStep));
        }
        this.rowsPerStep = rowsPerStep;
        foreach (var book in epochs.Values)
        {
            book.ResetShares();
        }
    }

    /// <summary>Leases the next pending shard of <paramref name="epoch"/> (or a piece of it) to <paramref name="workerId"/>.</summary>
    public LeaseResult Lease(int epoch, string workerId)
    {
        var book = Book(epoch);
        if (book.Pending.First is { } first)
        {
            var id = first.Value;
            var start = book.Prefixes.TryGetValue(id, out var prefix) ? prefix.NextRow : book.Shards[id].ReadStart;
            if (Share(book, workerId) is { } share)
            {
                var room = share - book.LeasedRows.GetValueOrDefault(workerId);
                if (room <= 0)
                {
                    return new LeaseResult.NoneAvailable();   // its share is leased: the rest is the others'
                }
                if (book.Shards[id].ReadEnd - start > room)
                {
                    book.Split(id, start + room);
                }
                book.LeasedRows[workerId] = book.LeasedRows.GetValueOrDefault(workerId) + (book.Shards[id].ReadEnd - start);
            }
            book.Pending.RemoveFirst();
            book.Leased[id] = new LeaseBook(workerId) { StartPrefix = prefix };
            var shard = book.Shards[id];
            return new LeaseResult.Leased(prefix is null ? shard : shard with { SkipRows = prefix.NextRow - shard.FirstRow });
        }
        if (!book.IsComplete)
        {
            return new LeaseResult.NoneAvailable();
        }
        if (book.RowsDone == 0 && book.SamplesExpected > 0)
        {
            // Every shard is done and not one row was trained: the next epoch would be the same. Stop here instead of
            // planning empty epochs for ever.
            throw new InvalidOperationException(
                $"epoch {epoch} ended without a single usable row: its {book.Shards.Count} shards ({book.FileList()}) hold " +
                $"{book.SamplesExpected} rows by their footers, and every one was skipped (see the skipped-row counts) or is not in the split the footers claim");
        }
        return new LeaseResult.EpochComplete(book.SamplesExpected);
    }

    /// <summary>
    /// Records that a shard was consumed. The first completion wins (even from a worker that lost the lease);
    /// any later completion of the same shard counts its rows as duplicates.
    /// </summary>
    /// <param name="skippedByReason">Rows of the shard the worker's reader skipped as bad, by reason name.</param>
    public CompletionResult Complete(int epoch, int shardId, long rowsConsumed, long step,
        IReadOnlyDictionary<string, long>? skippedByReason = null)
    {
        if (!epochs.TryGetValue(epoch, out var book))
        {
            return CompletionResult.UnknownShard;
        }
        if (!book.Shards.TryGetValue(shardId, out var shard))
        {
            return CompletionResult.UnknownShard;
        }
        var skipped = SkipCounts.From(skippedByReason);
        // What earlier leases had done when this one began (a commit since may have folded some of this lease's rows into
        // the shard's committed prefix: those are in rowsConsumed too, so they are not added twice).
        var prefix = book.Leased.TryGetValue(shardId, out var holder) ? holder.StartPrefix : book.Prefixes.GetValueOrDefault(shardId);
        var left = shard.ReadEnd - (prefix?.NextRow ?? shard.ReadStart);
        if (rowsConsumed < 0 || skipped.Values.Any(n => n < 0) || rowsConsumed + skipped.Values.Sum() > left)
        {
            throw new ArgumentOutOfRangeException(nameof(rowsConsumed), rowsConsumed,
                $"epoch {epoch} shard {shardId} ({shard.File}) has {left} rows{(prefix is null ? "" : $" left after row {prefix.NextRow}")}; " +
                $"{rowsConsumed} consumed and {skipped.Values.Sum()} skipped ({SkipCounts.Describe(skipped)}) is impossible.");
        }
        if (book.DoneUncommitted.ContainsKey(shardId) || book.Committed.ContainsKey(shardId))
        {
            book.Duplicates += rowsConsumed;
            return CompletionResult.Duplicate;
        }
        book.Leased.Remove(shardId, out var lease);
        book.Pending.Remove(shardId);
        book.Prefixes.Remove(shardId);
        book.DoneUncommitted[shardId] = new DoneShard(
            (prefix?.Trained ?? 0) + rowsConsumed, step, SkipCounts.Sum([prefix?.Skipped ?? SkipCounts.None, skipped]))
        {
            Prefix = prefix,
            Lease = lease,
        };
        return CompletionResult.Accepted;
    }

    /// <summary>
    /// Records where a step of <paramref name="workerId"/> leaves the leases it reads from (sent before the step's
    /// collectives, so the ledger knows every step's rows even when the worker dies in it). A cursor for a shard the
    /// worker does not hold is ignored and counted in the result.
    /// </summary>
    public int Advance(string workerId, long step, IEnumerable<LeaseCursor> cursors)
    {
        var ignored = 0;
        foreach (var cursor in cursors)
        {
            if (!epochs.TryGetValue(cursor.Epoch, out var book) || !book.Leased.TryGetValue(cursor.ShardId, out var lease) || lease.WorkerId != workerId)
            {
                ignored++;
                continue;
            }
            lease.Record(step, cursor);
        }
        return ignored;
    }

    /// <summary>
    /// A recovery keeps every step up to <paramref name="step"/> and discards the later ones (docs/fault-tolerance.md):
    /// every lease goes back to its epoch's pending queue, continued from where the kept steps left it (its cursor as of
    /// <paramref name="step"/>), a shard done by a discarded step is rewound the same way, a lease whose kept steps read it
    /// to its end is done, and then everything kept is committed. Returns the ledger as of that commit.
    /// </summary>
    public RecoveryResult Recover(long step)
    {
        long rewound = 0;
        var returned = 0;
        foreach (var book in epochs.Values)
        {
            var undone = new HashSet<int>();
            foreach (var (shardId, done) in book.DoneUncommitted.Where(kv => kv.Value.Step > step).ToList())
            {
                // Completed by a discarded step: back to what the kept steps of that lease did.
                book.DoneUncommitted.Remove(shardId);
                undone.Add(shardId);
                rewound += done.Rows - (done.Prefix?.Trained ?? 0);
                if (done.Prefix is { } prefix)
                {
                    book.Prefixes[shardId] = prefix;
                }
                else
                {
                    book.Prefixes.Remove(shardId);
                }
                book.Leased[shardId] = done.Lease ?? new LeaseBook("");
            }
            foreach (var (shardId, lease) in book.Leased.OrderByDescending(kv => kv.Key).ToList())
            {
                book.Leased.Remove(shardId);
                returned++;
                var shard = book.Shards[shardId];
                var prefix = lease.StartPrefix;
                if (prefix is null)
                {
                    book.Prefixes.Remove(shardId);
                }
                else
                {
                    book.Prefixes[shardId] = prefix;
                }
                if (lease.At(step) is { } cursor)
                {
                    if (undone.Contains(shardId))
                    {
                        rewound -= cursor.Trained;
                    }
                    prefix = new Prefix(cursor.NextRow, (prefix?.Trained ?? 0) + cursor.Trained,
                        SkipCounts.Sum([prefix?.Skipped ?? SkipCounts.None, cursor.SkippedByReason]));
                    if (cursor.NextRow >= shard.ReadEnd)
                    {
                        book.Prefixes.Remove(shardId);
                        book.DoneUncommitted[shardId] = new DoneShard(prefix.Trained, lease.StepAt(step), prefix.Skipped);
                        continue;
                    }
                    book.Prefixes[shardId] = prefix;
                }
                book.Pending.AddFirst(shardId);
            }
        }
        var snapshot = Commit(step);
        return new RecoveryResult(snapshot, returned, rewound, FirstOpenEpoch());
    }

    /// <summary>
    /// The rows of <paramref name="book"/>'s epoch that <paramref name="workerId"/> may lease in this generation: its part
    /// of the rows that were open (pending) when the generation first leased from the epoch, rounded up; null when there
    /// is no generation (a ledger driven without one) or the worker is not in it.
    /// </summary>
    private long? Share(EpochBook book, string workerId)
    {
        if (rowsPerStep is null || !rowsPerStep.TryGetValue(workerId, out var rows))
        {
            return null;
        }
        book.OpenAtGenerationStart ??= book.OpenRows();
        long total = rowsPerStep.Values.Sum();
        return (book.OpenAtGenerationStart.Value * rows + total - 1) / total;
    }

    /// <summary>The earliest epoch with a shard that is not done (pending or leased), or the next epoch to plan.</summary>
    public int FirstOpenEpoch()
    {
        foreach (var book in epochs.Values)
        {
            if (!book.IsComplete)
            {
                return book.Epoch;
            }
        }
        return epochs.Count == 0 ? 0 : epochs.Keys.Max() + 1;
    }

    /// <summary>
    /// Commits every shard done at or before <paramref name="step"/> and returns the ledger as of that commit,
    /// for the checkpoint of that step.
    /// </summary>
    public LedgerSnapshot Commit(long step)
    {
        var snapshot = new LedgerSnapshot { Step = step };
        foreach (var book in epochs.Values)
        {
            foreach (var (shardId, done) in book.DoneUncommitted.Where(kv => kv.Value.Step <= step).ToList())
            {
                book.DoneUncommitted.Remove(shardId);
                book.Committed[shardId] = done with { Lease = null, Prefix = null };   // committed: no recovery rewinds it
            }
            foreach (var (shardId, lease) in book.Leased)
            {
                // A shard being read: the rows its lease's steps up to this one trained are committed too, so a resume from
                // this checkpoint continues the shard from its next row instead of training those rows again.
                if (lease.At(step) is { } cursor && cursor.NextRow < book.Shards[shardId].ReadEnd)
                {
                    var start = lease.StartPrefix;
                    book.Prefixes[shardId] = new Prefix(cursor.NextRow, (start?.Trained ?? 0) + cursor.Trained,
                        SkipCounts.Sum([start?.Skipped ?? SkipCounts.None, cursor.SkippedByReason]));
                }
            }
            var epoch = new EpochLedger
            {
                Epoch = book.Epoch,
                ShardCount = book.PlanShardCount,
                SamplesExpected = book.SamplesExpected,
                Duplicates = book.Duplicates,
            };
            foreach (var (shardId, done) in book.Committed.OrderBy(kv => kv.Key))
            {
                var committed = book.Describe(new CommittedShard { ShardId = shardId, RowsConsumed = done.Rows });
                committed.SkippedByReason.Add(done.Skipped.ToDictionary());
                epoch.Committed.Add(committed);
            }
            foreach (var (shardId, prefix) in book.Prefixes.OrderBy(kv => kv.Key))
            {
                var partial = book.Describe(new CommittedShard { ShardId = shardId, RowsConsumed = prefix.Trained, NextRow = prefix.NextRow });
                partial.SkippedByReason.Add(prefix.Skipped.ToDictionary());
                epoch.Committed.Add(partial);
            }
            snapshot.Epochs.Add(epoch);
        }
        return snapshot;
    }

    /// <summary>Per-epoch counts for the dashboard and <c>summary.json</c>.</summary>
    public LedgerStats Stats() => new(epochs.Values.Select(b => b.Stats()).ToList());

    private EpochBook Book(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        if (!epochs.TryGetValue(epoch, out var book))
        {
            // A resumed run's earlier epochs are booked with the first one asked for, so the summary and the first open
            // epoch count them too (a resumed worker starts asking at the epoch it was reading, not at 0).
            foreach (var earlier in restored.Keys.Where(e => e < epoch && !epochs.ContainsKey(e)).Order().ToList())
            {
                epochs[earlier] = new EpochBook(planEpoch(earlier), restored[earlier]);
            }
            book = new EpochBook(planEpoch(epoch), restored.GetValueOrDefault(epoch));
            epochs[epoch] = book;
        }
        return book;
    }

    /// <summary>A shard reported done: the rows trained, the step that trained its last row, the rows skipped by reason.</summary>
    private sealed record DoneShard(long Rows, long Step, IReadOnlyDictionary<string, long> Skipped)
    {
        public long SkippedRows => Skipped.Values.Sum();

        /// <summary>What earlier leases of the shard had done when the completing lease began (until committed).</summary>
        public Prefix? Prefix { get; init; }

        /// <summary>The completing lease with its cursors, so a recovery can rewind a completion by a discarded step.</summary>
        public LeaseBook? Lease { get; init; }
    }

    /// <summary>The rows of a shard before <paramref name="NextRow"/> (a file row index) are handled: trained or skipped.</summary>
    private sealed record Prefix(long NextRow, long Trained, IReadOnlyDictionary<string, long> Skipped)
    {
        public long SkippedRows => Skipped.Values.Sum();
    }

    /// <summary>A lease: its holder and the cursors its steps reported, oldest first.</summary>
    private sealed class LeaseBook(string workerId)
    {
        private readonly List<(long Step, LeaseCursor Cursor)> cursors = [];

        public string WorkerId { get; } = workerId;

        /// <summary>The shard's handled prefix when this lease began (null: the lease read the shard from its start).</summary>
        public Prefix? StartPrefix { get; init; }

        public void Record(long step, LeaseCursor cursor)
        {
            // A step reports once; a later report for the same step replaces it.
            cursors.RemoveAll(c => c.Step >= step);
            cursors.Add((step, cursor));
        }

        /// <summary>The lease's position after the last of its steps at or before <paramref name="step"/>; null: none kept.</summary>
        public LeaseCursor? At(long step) => cursors.LastOrDefault(c => c.Step <= step).Cursor;

        public long StepAt(long step) => cursors.LastOrDefault(c => c.Step <= step).Step;
    }

    private sealed class EpochBook
    {
        public EpochBook(EpochPlan plan, EpochLedger? restored)
        {
            if (plan.Epoch < 0)
            {
                throw new ArgumentException($"plan for epoch {plan.Epoch} is invalid.", nameof(plan));
            }
            Epoch = plan.Epoch;
            Shards = [];
            foreach (var shard in plan.Shards)
            {
                if (!Shards.TryAdd(shard.ShardId, shard))
                {
                    throw new ArgumentException($"epoch {plan.Epoch} plan lists shard {shard.ShardId} twice.", nameof(plan));
                }
            }
            PlanShardCount = Shards.Count;
            SamplesExpected = plan.TotalRows;
            nextPieceId = Shards.Count == 0 ? 0 : Shards.Keys.Max() + 1;
            if (restored is not null)
            {
                Restore(restored);
            }
            // Partly handled shards first, so they are finished before new ones are opened; then in plan order.
            Pending = new LinkedList<int>(Shards.Keys.Where(id => !Committed.ContainsKey(id))
                .OrderBy(id => Prefixes.ContainsKey(id) ? 0 : 1)
                .ThenBy(id => Origin(id))
                .ThenBy(id => Shards[id].ReadStart));
        }

        private int nextPieceId;

        /// <summary>The plan shard each piece was cut from (a piece that keeps its plan shard's id is not listed).</summary>
        private readonly Dictionary<int, int> origins = [];

        public int PlanShardCount { get; }

        /// <summary>Rows leased to each worker from this epoch in the current generation.</summary>
        public Dictionary<string, long> LeasedRows { get; } = [];

        /// <summary>The epoch's open rows when the current generation first leased from it (the base of the shares).</summary>
        public long? OpenAtGenerationStart { get; set; }

        public void ResetShares()
        {
            LeasedRows.Clear();
            OpenAtGenerationStart = null;
        }

        /// <summary>Rows of pending shards not yet handled (leases are all returned when a generation begins).</summary>
        public long OpenRows() => Pending.Sum(id => Shards[id].ReadEnd - (Prefixes.TryGetValue(id, out var p) ? p.NextRow : Shards[id].ReadStart)) +
            Leased.Sum(kv => Shards[kv.Key].ReadEnd - (kv.Value.StartPrefix?.NextRow ?? Shards[kv.Key].ReadStart));

        private int Origin(int id) => origins.GetValueOrDefault(id, id);

        /// <summary>
        /// Cuts pending shard <paramref name="id"/> at file row <paramref name="at"/>: it keeps its rows before, and a new piece
        /// with the rows from there goes right after it in the queue.
        /// </summary>
        public void Split(int id, long at)
        {
            var shard = Shards[id];
            if (at <= shard.ReadStart || at >= shard.ReadEnd)
            {
                throw new ArgumentOutOfRangeException(nameof(at), at, $"shard {id} reads rows [{shard.ReadStart}, {shard.ReadEnd})");
            }
            var tail = nextPieceId++;
            Shards[tail] = shard with { ShardId = tail, SkipRows = at - shard.FirstRow, EndRow = shard.ReadEnd };
            Shards[id] = shard with { EndRow = at };
            origins[tail] = Origin(id);
            Pending.AddAfter(Pending.Find(id)!, tail);
        }

        /// <summary>Adds what a resume needs to rebuild a piece to its committed entry.</summary>
        public CommittedShard Describe(CommittedShard entry)
        {
            var shard = Shards[entry.ShardId];
            if (origins.ContainsKey(entry.ShardId) || shard.SkipRows != 0 || shard.EndRow != 0)
            {
                entry.Piece = true;
                entry.PlanShardId = Origin(entry.ShardId);
                entry.PieceFirstRow = shard.ReadStart;
                entry.PieceEndRow = shard.ReadEnd;
            }
            return entry;
        }

        public int Epoch { get; }
        public Dictionary<int, ShardSpec> Shards { get; }
        public long SamplesExpected { get; }
        public LinkedList<int> Pending { get; }
        public Dictionary<int, LeaseBook> Leased { get; } = [];

        /// <summary>Shards partly handled by the kept steps of earlier leases (continued after a recovery); committed.</summary>
        public Dictionary<int, Prefix> Prefixes { get; } = [];
        public Dictionary<int, DoneShard> DoneUncommitted { get; } = [];
        public Dictionary<int, DoneShard> Committed { get; } = [];
        public long Duplicates { get; set; }
        public bool IsComplete => DoneUncommitted.Count + Committed.Count == Shards.Count;
        public long RowsDone => Committed.Values.Sum(d => d.Rows) + DoneUncommitted.Values.Sum(d => d.Rows) + Prefixes.Values.Sum(p => p.Trained);

        /// <summary>The files of the epoch's shards, the first few of them, for an error message.</summary>
        public string FileList()
        {
            var files = Shards.Values.Select(s => s.File).Distinct().Order(StringComparer.Ordinal).ToList();
            return files.Count <= 3 ? string.Join(", ", files) : $"{string.Join(", ", files.Take(3))} and {files.Count - 3} more";
        }

        public EpochLedgerStats Stats()
        {
            var committedRows = Committed.Values.Sum(d => d.Rows) + Prefixes.Values.Sum(p => p.Trained);
            var committedSkips = Committed.Values.Sum(d => d.SkippedRows) + Prefixes.Values.Sum(p => p.SkippedRows);
            var done = Committed.Concat(DoneUncommitted)
                .Concat(Prefixes.Select(kv => KeyValuePair.Create(kv.Key, new DoneShard(kv.Value.Trained, 0, kv.Value.Skipped))))
                .ToList();
            // An epoch in which no shard was reported done only had rows planned, leased or read ahead: it did not run,
            // and its rows are not missing from a run that stopped before it.
            var ran = done.Count > 0;
            return new EpochLedgerStats(Epoch, Shards.Count, Pending.Count, Leased.Count, DoneUncommitted.Count,
                Committed.Count, SamplesExpected, committedRows, DoneUncommitted.Values.Sum(d => d.Rows), Duplicates,
                ran ? SamplesExpected - committedRows - committedSkips : 0, IsComplete)
            {
                Ran = ran,
                SkippedCommitted = committedSkips,
                SkippedUncommitted = DoneUncommitted.Values.Sum(d => d.SkippedRows),
                SkippedByReason = SkipCounts.Sum(done.Select(kv => kv.Value.Skipped)),
                SkippedByFile = done
                    .Where(kv => kv.Value.SkippedRows > 0)
                    .GroupBy(kv => Shards[kv.Key].File, StringComparer.Ordinal)
                    .OrderBy(g => g.Key, StringComparer.Ordinal)
                    .Select(g => FileStats(g.Key, g.Select(kv => kv.Value)))
                    .ToList(),
            };
        }

        private FileLedgerStats FileStats(string file, IEnumerable<DoneShard> skipping) => new(
            file,
            Shards.Values.Where(s => s.File == file).Sum(s => s.ReadRows),
            Committed.Where(kv => Shards[kv.Key].File == file).Sum(kv => kv.Value.Rows),
            SkipCounts.Sum(skipping.Select(d => d.Skipped)));

        private void Restore(EpochLedger restored)
        {
            if (restored.ShardCount != Shards.Count || restored.SamplesExpected != SamplesExpected)
            {
                throw new InvalidOperationException(
                    $"checkpoint ledger for epoch {Epoch} has {restored.ShardCount} shards / {restored.SamplesExpected} samples, " +
                    $"but the manifest plans {Shards.Count} shards / {SamplesExpected} samples: the manifest changed since the checkpoint.");
            }
            Duplicates = restored.Duplicates;
            RestorePieces(restored.Committed.Where(c => c.Piece).ToList());
            foreach (var shard in restored.Committed)
            {
                if (!Shards.ContainsKey(shard.ShardId))
                {
                    throw new InvalidOperationException($"checkpoint ledger for epoch {Epoch} names shard {shard.ShardId}, which the plan lacks.");
                }
                if (shard.NextRow > 0)
                {
                    Prefixes[shard.ShardId] = new Prefix(shard.NextRow, shard.RowsConsumed, SkipCounts.From(shard.SkippedByReason));
                    continue;
                }
                Committed[shard.ShardId] = new DoneShard(shard.RowsConsumed, 0, SkipCounts.From(shard.SkippedByReason));
            }
        }

        /// <summary>
        /// Rebuilds the pieces a checkpoint names: each plan shard with pieces is replaced by them, and its rows that no
        /// recorded piece covers (pieces that were pending or leased without progress) become new pending pieces.
        /// </summary>
        private void RestorePieces(List<CommittedShard> pieces)
        {
            foreach (var group in pieces.GroupBy(p => p.PlanShardId))
            {
                if (!Shards.TryGetValue(group.Key, out var plan) || origins.ContainsKey(group.Key))
                {
                    throw new InvalidOperationException($"checkpoint ledger for epoch {Epoch} names a piece of shard {group.Key}, which the plan lacks.");
                }
                var recorded = group.OrderBy(p => p.PieceFirstRow).ToList();
                var cursor = plan.FirstRow;
                var gaps = new List<(long From, long To)>();
                foreach (var piece in recorded)
                {
                    if (piece.PieceFirstRow < cursor || piece.PieceEndRow <= piece.PieceFirstRow || piece.PieceEndRow > plan.FirstRow + plan.RowCount)
                    {
                        throw new InvalidOperationException(
                            $"checkpoint ledger for epoch {Epoch}: piece {piece.ShardId} [{piece.PieceFirstRow}, {piece.PieceEndRow}) of shard {group.Key} " +
                            $"overlaps another or lies outside the shard's rows [{plan.FirstRow}, {plan.FirstRow + plan.RowCount}).");
                    }
                    if (piece.PieceFirstRow > cursor)
                    {
                        gaps.Add((cursor, piece.PieceFirstRow));
                    }
                    cursor = piece.PieceEndRow;
                }
                if (cursor < plan.FirstRow + plan.RowCount)
                {
                    gaps.Add((cursor, plan.FirstRow + plan.RowCount));
                }
                Shards.Remove(group.Key);
                var ids = recorded.Select(p => p.ShardId).ToHashSet();
                foreach (var piece in recorded)
                {
                    Place(piece.ShardId, group.Key, plan, piece.PieceFirstRow, piece.PieceEndRow);
                }
                nextPieceId = Math.Max(nextPieceId, ids.Max() + 1);
                foreach (var (from, to) in gaps)
                {
                    var id = ids.Add(group.Key) ? group.Key : nextPieceId++;
                    Place(id, group.Key, plan, from, to);
                }
            }
        }

        private void Place(int id, int origin, ShardSpec plan, long from, long to)
        {
            if (!Shards.TryAdd(id, plan with { ShardId = id, SkipRows = from - plan.FirstRow, EndRow = to }))
            {
                throw new InvalidOperationException($"checkpoint ledger for epoch {Epoch} names piece {id} twice or over a plan shard.");
            }
            if (id != origin)
            {
                origins[id] = origin;
            }
        }
    }
}
