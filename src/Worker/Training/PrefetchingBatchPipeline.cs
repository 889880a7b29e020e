using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace MmCluster.Worker.Training;

/// <summary>
/// Keeps the model fed: a producer task reads rows from any async source (the lead feeds it from shard leases), groups
/// them into batches of exactly <c>batchSize</c>, decodes and tokenizes them, and writes them to a bounded channel of
/// <c>depth</c> batches, so decoding runs ahead of training and memory stays bounded. A short tail (fewer than batchSize
/// rows at the end of the source) is reported through <see cref="Remainder"/>, never trained on silently.
/// </summary>
public sealed class PrefetchingBatchPipeline
{
    private readonly BatchBuilder builder;
    private readonly int batchSize;
    private readonly int depth;

    public PrefetchingBatchPipeline(BatchBuilder builder, int batchSize, int depth = 4)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        this.builder = builder;
        this.batchSize = batchSize;
        this.depth = depth;
    }

    /// <summary>Rows left over after the last full batch once the source ended (the caller decides: roll over or drop).</summary>
    public IReadOnlyList<CaptionedImage> Remainder { get; private set; } = [];

    /// <summary>Full batches, in source order, produced ahead of the consumer. A producer error surfaces here.</summary>
    public async IAsyncEnumerable<ClipBatch> RunAsync(IAsyncEnumerable<CaptionedImage> source, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var channel = Channel.CreateBounded<ClipBatch>(new BoundedChannelOptions(depth)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = Task.Run(() => ProduceAsync(source, channel.Writer, stop.Token), stop.Token);
        try
        {
            await foreach (var batch in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return batch;
            }
            await producer.ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAny(producer).ConfigureAwait(false);
        }
    }

    private async Task ProduceAsync(IAsyncEnumerable<CaptionedImage> source, ChannelWriter<ClipBatch> writer, CancellationToken cancellationToken)
    {
        var pending = new List<CaptionedImage>(batchSize);
        try
        {
            await foreach (var row in source.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                pending.Add(row);
                if (pending.Count == batchSize)
                {
                    await writer.WriteAsync(builder.Build(pending), cancellationToken).ConfigureAwait(false);
                    pending.Clear();
                }
            }
            Remainder = pending;
            writer.Complete();
        }
        catch (Exception ex)
        {
            writer.Complete(ex);
        }
    }
}
