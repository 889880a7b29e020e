using System.Threading.Channels;
using MmCluster.Shared.Manifest;
using MmCluster.Worker.Actors;
using MmCluster.Worker.Training;
using MmCluster.Worker.Training.Photos;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// The worker's input pipeline: leases shards from the coordinator (pull), reads their rows with Parquet.Net, decodes
/// and tokenizes them into batches of exactly b rows on a background task, and keeps a few batches ready so the model
/// never waits on input. When every remaining shard of an epoch is leased to other ranks it reads ahead into the next
/// epoch, so no rank runs dry while its peers still hold rows (every rank must step the same number of times).
/// Each row the reader skips is logged once with its file, row and reason (the first <see cref="MaxLoggedSkips"/>).
/// With <c>decodeThreads</c> above 1 each batch's images are decoded on that many threads of a <see cref="DecodePool"/>
/// while the feed's task reads the next batch's rows (the reader and its image checks stay on the feed's task, so at
/// most two batches are in the making); a decoded batch is written as soon as the feed sees it done, and at once when
/// the coordinator has no lease for it. The batches are the same, in the same order, as with 1.
/// </summary>
internal sealed class ShardBatchFeed : IAsyncDisposable
{
    /// <summary>Skips logged one by one; later ones are only counted (a broken manifest must not flood the log).</summary>
    internal const int MaxLoggedSkips = 1000;

    private readonly Channel<ClipBatch> batches;
    private readonly Action<string> log;
    private long loggedSkips;
    private readonly CancellationTokenSource stop = new();
    private readonly Task producer;
    private readonly DecodePool? decoders;

    public ShardBatchFeed(
        IControlPlane control, ParquetManifestReader reader, BatchBuilder builder, LeaseTracker tracker,
        int batchSize, long batchesWanted, int startEpoch, int depth = 6, Action<string>? log = null, int decodeThreads = 1)
    {
        this.log = log ?? (_ => { });
        decoders = decodeThreads > 1 ? new DecodePool(decodeThreads) : null;
        batches = Channel.CreateBounded<ClipBatch>(new BoundedChannelOptions(depth) { SingleReader = true, SingleWriter = true });
        producer = Task.Run(() => ProduceAsync(control, reader, builder, tracker, batchSize, batchesWanted, startEpoch, stop.Token));
    }

    /// <summary>The epoch of the shard the feed is reading now (for progress).</summary>
    public int CurrentEpoch { get; private set; }

    /// <summary>Rows skipped as bad (any <see cref="RowSkipReason"/>) so far.</summary>
    public long SkippedRows { get; private set; }

    /// <summary>Blocks the training thread until the next batch is ready; throws the feed's error if it failed.</summary>
    public ClipBatch Next(CancellationToken cancellationToken)
    {
        try
        {
            return batches.Reader.ReadAsync(cancellationToken).AsTask().GetAwaiter().GetResult();
        }
        catch (ChannelClosedException e) when (e.InnerException is not null)
        {
            throw e.InnerException;
        }
    }

    private async Task ProduceAsync(
        IControlPlane control, ParquetManifestReader reader, BatchBuilder builder, LeaseTracker tracker,
        int batchSize, long batchesWanted, int epoch, CancellationToken ct)
    {
        Exception? failure = null;
        Task<ClipBatch>? building = null;   // with decode threads: the batch decoding while the next one's rows are read
        try
        {
            var pending = new List<CaptionedImage>(batchSize);
            long produced = 0;
            var emptyEpochs = 0;
            while (produced < batchesWanted)
            {
                await WriteBuiltAsync(wait: false).ConfigureAwait(false);
                var offer = await control.TryNextShardAsync(epoch, ct).ConfigureAwait(false);
                if (offer.Lease is null)
                {
                    // No rows now: a batch still decoding goes out rather than wait for the next lease's rows.
                    await WriteBuiltAsync(wait: true).ConfigureAwait(false);
                    // Done, or the rest of this epoch is leased to others: read ahead into the next epoch.
                    emptyEpochs = offer.AllLeased ? 0 : emptyEpochs + 1;
                    if (emptyEpochs > 2)
                    {
                        throw new InvalidOperationException($"the manifest gave no rows for epochs {epoch - 2}..{epoch}: is the train split empty?");
                    }
                    epoch++;
                    continue;
                }
                emptyEpochs = 0;
                CurrentEpoch = epoch;
                var entry = tracker.Begin(offer.Lease);
                var stats = new ManifestReadStats
                {
                    OnSkip = skip => { tracker.Skipped(entry, skip); LogSkip(skip); },
                    OnFiltered = row => tracker.Skipped(entry, row, OtherSplitReason),
                };
                var truncated = false;
                await foreach (var row in reader.ReadShardAsync(offer.Lease.Shard, stats, ct).ConfigureAwait(false))
                {
                    if (produced >= batchesWanted)
                    {
                        truncated = true;   // the run ends inside this shard: it stays leased, never reported done
                        break;
                    }
                    await WriteBuiltAsync(wait: false).ConfigureAwait(false);
                    pending.Add(new CaptionedImage(row.Key, row.Caption, row.Image, row.Label ?? -1, row.Conversation) { Epoch = epoch });
                    tracker.Produced(entry, row.FileRow);
                    if (pending.Count == batchSize)
                    {
                        CaptionedImage[] rows = [.. pending];
                        pending.Clear();
                        if (decoders is null)
                        {
                            await batches.Writer.WriteAsync(builder.Build(rows), ct).ConfigureAwait(false);
                        }
                        else
                        {
                            // Batches leave in order: the previous one is written before this one starts decoding.
                            await WriteBuiltAsync(wait: true).ConfigureAwait(false);
                            building = Task.Factory.StartNew(() => builder.Build(rows, decoders), CancellationToken.None,
                                TaskCreationOptions.LongRunning, TaskScheduler.Default);
                        }
                        produced++;
                    }
                }
                SkippedRows += stats.Skipped;
                if (!truncated)
                {
                    // Rows of the other split (a shard of a file without a split footer, e.g. img2dataset's held out by
                    // test_fraction) are accounted for too: the ledger counts them as skipped for that reason, not missing.
                    tracker.Finished(entry, SkipCounts.Sum([
                        SkipCounts.From(stats.SkippedByReason),
                        [KeyValuePair.Create(OtherSplitReason, stats.FilteredBySplit)],
                    ]));
                }
            }
            await WriteBuiltAsync(wait: true).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            failure = e;
        }
        if (building is not null)
        {
            await Task.WhenAny(building).ConfigureAwait(false);   // no batch is left decoding on the pool, which is disposed next
        }
        batches.Writer.TryComplete(failure is null ? null : new ChannelClosedException(failure.Message, failure));

        // The batch decoding on the pool, once it is done (or at once with wait), so none waits longer than it must.
        async Task WriteBuiltAsync(bool wait)
        {
            if (building is not null && (wait || building.IsCompleted))
            {
                var built = await building.ConfigureAwait(false);
                building = null;
                await batches.Writer.WriteAsync(built, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The skip reason the ledger gets for rows a shard holds for another split than the one trained.</summary>
    public const string OtherSplitReason = "OtherSplit";

    private void LogSkip(RowSkip skip)
    {
        var n = ++loggedSkips;
        if (n <= MaxLoggedSkips)
        {
            log(n == MaxLoggedSkips ? $"{skip}; further skipped rows are counted, not logged" : skip.ToString());
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await producer.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        decoders?.Dispose();
        stop.Dispose();
    }
}
