using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using MmCluster.Collectives;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Recovery;

/// <summary>
/// Makes every rank of a (recovery) generation hold the full training state of one source rank, over the collectives
/// and never through a file: every tensor of the model's state_dict (any dtype, trainable and frozen), AdamW's moments and
/// step counts, the optimizer's step (schedule position) and the generator state (<see cref="TrainingStateLayout"/>).
/// Afterwards every rank is bit-identical to the source, so they step in lockstep. Every rank of the group calls it with
/// the same source; synchronous, on the trainer thread (like <see cref="ParameterBroadcast"/>).
/// </summary>
/// <remarks>
/// First a 64-byte header from the source (step, tensor count, payload size, SHA-256 of the layout's names, dtypes and
/// shapes), then an all-reduce of which ranks differ: when any does, the source's layout is broadcast, each differing rank
/// finds its first differing tensor, an all-reduce shares those, and every rank throws naming them (none waits for payload
/// that never comes). Otherwise the tensors' bytes (reinterpreted as float32, each padded to 4 bytes) are packed in order
/// into buckets of at most ~25 MB, one broadcast each, so hundreds of tensors cost a few collectives and memory stays
/// bounded; receivers write straight into their contiguous CPU tensors.
/// </remarks>
public static class TrainingStateTransfer
{
    /// <summary>The payload bucket: 25 MiB, as the gradient averager's buckets.</summary>
    public const int DefaultBucketBytes = 25 << 20;

    private const int HeaderBytes = 64;
    private const int Magic = 0x54534D4D;   // "MMST"
    private const int Version = 1;

    /// <summary>Every rank ends with <paramref name="sourceRank"/>'s model, optimizer and generator state (torch's default CPU generator).</summary>
    public static TrainingStateTransferResult Broadcast(ICollectiveGroup group, int sourceRank, nn.Module model, StageOptimizer optimizer) =>
        Broadcast(group, sourceRank, model, optimizer, generator: null, DefaultBucketBytes);

    /// <param name="generator">The generator whose state moves; null: torch's default CPU generator.</param>
    /// <param name="bucketBytes">The largest payload broadcast, a multiple of 4.</param>
    internal static TrainingStateTransferResult Broadcast(
        ICollectiveGroup group, int sourceRank, nn.Module model, IOptimizerState optimizer, Generator? generator, int bucketBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sourceRank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(sourceRank, group.WorldSize);
        if (bucketBytes <= 0 || bucketBytes % sizeof(float) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bucketBytes), bucketBytes, "a bucket holds a positive multiple of 4 bytes");
        }
        var clock = Stopwatch.StartNew();
        using var noGrad = no_grad();
        using var layout = new TrainingStateLayout(model, optimizer, generator);
        if (group.WorldSize == 1)
        {
            return new TrainingStateTransferResult(sourceRank, optimizer.Step, layout.Entries.Count, 0, 0, clock.Elapsed.TotalMilliseconds);
        }

        var isSource = group.Rank == sourceRank;
        var header = new float[HeaderBytes / sizeof(float)];
        if (isSource)
        {
            WriteHeader(MemoryMarshal.AsBytes(header.AsSpan()), layout, optimizer.Step);
        }
        TensorCollectives.Wait(() => group.BroadcastAsync(header, sourceRank));
        var source = ReadHeader(MemoryMarshal.AsBytes(header.AsSpan()));
        CheckLayouts(group, sourceRank, layout, source);

        var buckets = SendOrReceive(group, sourceRank, layout, bucketBytes);
        if (!isSource)
        {
            layout.Apply();
            optimizer.Step = source.Step;
        }
        return new TrainingStateTransferResult(sourceRank, source.Step, layout.Entries.Count, layout.PayloadBytes, buckets, clock.Elapsed.TotalMilliseconds);
    }

    private static void CheckLayouts(ICollectiveGroup group, int sourceRank, TrainingStateLayout layout, SourceHeader source)
    {
        var differs = source.Magic != Magic || source.Version != Version || source.Tensors != layout.Entries.Count
            || source.PayloadBytes != layout.PayloadBytes || !source.Fingerprint.SequenceEqual(layout.Fingerprint);
        var flags = new float[group.WorldSize];
        flags[group.Rank] = differs ? 1 : 0;
        TensorCollectives.Wait(() => group.AllReduceAsync(flags, ReduceOp.Sum));
        if (flags.All(f => f == 0))
        {
            return;
        }

        // (layout bytes + 3) / 4 floats; every rank read the same header, so every rank sizes it alike.
        var text = new float[(source.LayoutBytes + 3) / 4];
        if (group.Rank == sourceRank)
        {
            Encoding.UTF8.GetBytes(layout.Text, MemoryMarshal.AsBytes(text.AsSpan()));
        }
        TensorCollectives.Wait(() => group.BroadcastAsync(text, sourceRank));
        var sourceLines = Encoding.UTF8.GetString(MemoryMarshal.AsBytes(text.AsSpan())[..source.LayoutBytes]).Split('\n');
        var localLines = layout.Text.Split('\n');
        var firsts = new float[group.WorldSize];
        firsts[group.Rank] = differs ? FirstDifference(sourceLines, localLines) + 1 : 0;
        TensorCollectives.Wait(() => group.AllReduceAsync(firsts, ReduceOp.Sum));

        var reasons = new List<string>();
        for (var rank = 0; rank < group.WorldSize; rank++)
        {
            if (firsts[rank] == 0)
            {
                continue;
            }
            var index = (int)firsts[rank] - 1;
            var theirs = rank == group.Rank ? $"; rank {rank} has {Describe(localLines, index)}" : "";
            reasons.Add($"rank {rank} differs first at {Describe(sourceLines, index)} on rank {sourceRank}{theirs}");
        }
        throw new InvalidDataException(
            $"training state transfer from rank {sourceRank}: the model and optimizer layouts differ ({string.Join("; ", reasons)}); every rank stops");
    }

    private static int FirstDifference(string[] source, string[] local)
    {
        var common = Math.Min(source.Length, local.Length);
        for (var i = 0; i < common; i++)
        {
            if (source[i] != local[i])
            {
                return i;
            }
        }
        return common;
    }

    private static string Describe(string[] lines, int index)
    {
        if (index >= lines.Length)
        {
            return "the end of its tensors (no tensor there)";
        }
        var parts = lines[index].Split('\t');
        return $"tensor '{parts[0]}' ({parts[1]} {parts[2]})";
    }

    /// <returns>How many bucket broadcasts it took.</returns>
    private static int SendOrReceive(ICollectiveGroup group, int sourceRank, TrainingStateLayout layout, int bucketBytes)
    {
        var total = layout.PayloadBytes;
        if (total == 0)
        {
            return 0;
        }
        var isSource = group.Rank == sourceRank;
        using var bucket = empty((int)Math.Min(bucketBytes, total) / sizeof(float), ScalarType.Float32);
        var memory = TensorMemory.Of(bucket);
        var entry = 0;
        long offset = 0;   // within the current entry
        var buckets = 0;
        for (long start = 0; start < total; start += bucketBytes)
        {
            var length = (int)Math.Min(bucketBytes, total - start);
            if (isSource)
            {
                Walk(layout, ref entry, ref offset, bucket.bytes[..length], fill: true);
                TensorCollectives.Wait(() => group.BroadcastAsync(memory[..(length / sizeof(float))], sourceRank));
            }
            else
            {
                TensorCollectives.Wait(() => group.BroadcastAsync(memory[..(length / sizeof(float))], sourceRank));
                Walk(layout, ref entry, ref offset, bucket.bytes[..length], fill: false);
            }
            buckets++;
        }
        return buckets;
    }

    /// <summary>Copies the next <paramref name="bucket"/>.Length bytes of the stream between the entries and the bucket.</summary>
    private static void Walk(TrainingStateLayout layout, ref int entry, ref long offset, Span<byte> bucket, bool fill)
    {
        var position = 0;
        while (position < bucket.Length)
        {
            var current = layout.Entries[entry];
            var take = (int)Math.Min(current.PaddedBytes - offset, bucket.Length - position);
            var real = (int)Math.Clamp(current.Bytes - offset, 0, take);
            if (real > 0)
            {
                var bytes = current.Open().Slice((int)offset, real);
                if (fill)
                {
                    bytes.CopyTo(bucket.Slice(position, real));
                }
                else
                {
                    bucket.Slice(position, real).CopyTo(bytes);
                }
            }
            if (fill)
            {
                bucket.Slice(position + real, take - real).Clear();
            }
            position += take;
            offset += take;
            if (offset == current.PaddedBytes)
            {
                current.Close(writeBack: !fill);
                entry++;
                offset = 0;
            }
        }
    }

    private static void WriteHeader(Span<byte> header, TrainingStateLayout layout, long step)
    {
        BinaryPrimitives.WriteInt32LittleEndian(header[0..], Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], Version);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], layout.Entries.Count);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], Encoding.UTF8.GetByteCount(layout.Text));
        BinaryPrimitives.WriteInt64LittleEndian(header[16..], layout.PayloadBytes);
        BinaryPrimitives.WriteInt64LittleEndian(header[24..], step);
        layout.Fingerprint.CopyTo(header[32..]);
    }

    private static SourceHeader ReadHeader(ReadOnlySpan<byte> header) => new(
        BinaryPrimitives.ReadInt32LittleEndian(header[0..]),
        BinaryPrimitives.ReadInt32LittleEndian(header[4..]),
        BinaryPrimitives.ReadInt32LittleEndian(header[8..]),
        BinaryPrimitives.ReadInt32LittleEndian(header[12..]),
        BinaryPrimitives.ReadInt64LittleEndian(header[16..]),
        BinaryPrimitives.ReadInt64LittleEndian(header[24..]),
        header[32..64].ToArray());

    private sealed record SourceHeader(int Magic, int Version, int Tensors, int LayoutBytes, long PayloadBytes, long Step, byte[] Fingerprint);
}
