using System.Buffers;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using MmCluster.Collectives.Protocol;

namespace MmCluster.Collectives.Ring;

/// <summary>
/// A <see cref="ChunkFrame"/> as the receiver reads it: the tags, and the payload in a buffer rented from
/// <see cref="ChunkBuffers"/> instead of a fresh large-object-heap array per chunk (the generated parser's ByteString).
/// The operation copies the payload out once and calls <see cref="Release"/>. On a same-host lane the payload is a slot of
/// the lane's <see cref="SharedMemoryRing"/> instead (<see cref="AttachSlot"/>), read in place; releasing the chunk gives
/// the slot back to the sender.
/// </summary>
internal sealed class ReceivedChunk
{
    private static readonly Marshaller<PullControl> ControlMarshaller = Marshallers.Create<PullControl>(
        (PullControl control, SerializationContext context) =>
        {
            context.SetPayloadLength(control.CalculateSize());
            control.WriteTo(context.GetBufferWriter());
            context.Complete();
        },
        (DeserializationContext context) => PullControl.Parser.ParseFrom(context.PayloadAsReadOnlySequence()));

    /// <summary>The receiver's (client's) side of Collective.PullChunks: chunks parsed by <see cref="Parse"/> into pooled buffers.</summary>
    public static readonly Method<PullControl, ReceivedChunk> PullChunksClientMethod = new(
        MethodType.DuplexStreaming,
        Collective.Descriptor.FullName,
        "PullChunks",
        ControlMarshaller,
        Marshallers.Create<ReceivedChunk>(
            (ReceivedChunk _, SerializationContext _) => throw new NotSupportedException("ReceivedChunk is only ever read; senders write ChunkFrame"),
            (DeserializationContext context) => Parse(context.PayloadAsReadOnlySequence())));

    /// <summary>The sender's (server's) side of Collective.PullChunks, wire-compatible with the generated client.</summary>
    public static readonly Method<PullControl, ChunkFrame> PullChunksServerMethod = new(
        MethodType.DuplexStreaming,
        Collective.Descriptor.FullName,
        "PullChunks",
        ControlMarshaller,
        Marshallers.Create<ChunkFrame>(
            (ChunkFrame frame, SerializationContext context) =>
            {
                context.SetPayloadLength(frame.CalculateSize());
                frame.WriteTo(context.GetBufferWriter());
                context.Complete();
            },
            (DeserializationContext context) => ChunkFrame.Parser.ParseFrom(context.PayloadAsReadOnlySequence())));

    private byte[] _buffer = [];
    private int _payloadOffset;
    private SharedMemoryRing? _ring;
    private InboundLane? _lane;

    public string RunId { get; private set; } = "";

    public long Generation { get; private set; }

    public int SourceRank { get; private set; }

    public long OpSeq { get; private set; }

    public CollectiveOp Op { get; private set; }

    public int Step { get; private set; }

    public int Chunk { get; private set; }

    public long TotalElements { get; private set; }

    public ChunkDType DType { get; private set; }

    public string AbortReason { get; private set; } = "";

    public int PayloadLength { get; private set; }

    /// <summary>Slot + 1 of the lane's shared-memory ring that holds the payload; 0 when the payload is inline.</summary>
    public int ShmSlot { get; private set; }

    public int ShmBytes { get; private set; }

    public ReadOnlySpan<byte> Payload => _ring is { } ring ? ring.Slot(ShmSlot - 1, PayloadLength) : _buffer.AsSpan(_payloadOffset, PayloadLength);

    /// <summary>
    /// Points this chunk at its slot in <paramref name="ring"/> (the lane's accepted ring); false when the slot or its length
    /// does not fit the ring, or the ring is already released. <see cref="Release"/> gives the slot back through <paramref name="lane"/>.
    /// </summary>
    public bool AttachSlot(SharedMemoryRing ring, InboundLane lane)
    {
        if (ShmSlot < 1 || ShmSlot > ring.Slots || ShmBytes < 0 || ShmBytes > ring.SlotBytes || PayloadLength != 0 || !ring.Acquire())
        {
            return false;
        }
        _ring = ring;
        _lane = lane;
        PayloadLength = ShmBytes;
        return true;
    }

    /// <summary>Gives this chunk (read from a <see cref="TcpLane"/>, tags only) its payload: <paramref name="length"/> bytes of <paramref name="buffer"/>, rented from <see cref="ChunkBuffers"/>.</summary>
    public void AttachPayload(byte[] buffer, int length)
    {
        Release();
        _buffer = buffer;
        _payloadOffset = 0;
        PayloadLength = length;
    }

    public void Release()
    {
        if (_buffer.Length > 0)
        {
            ChunkBuffers.Shared.Return(_buffer);
            _buffer = [];
            _payloadOffset = 0;
        }
        if (_ring is { } ring)
        {
            _ring = null;
            ring.Release();
            _lane!.ReleaseSlot();
        }
    }

    /// <summary>Protobuf wire format of ChunkFrame (field numbers of protos/collective.proto); unknown fields are skipped.</summary>
    public static ReceivedChunk Parse(ReadOnlySequence<byte> data)
    {
        return Parse(data, null);
    }

    /// <summary>
    /// Parses a message read whole into <paramref name="message"/> (rented from <see cref="ChunkBuffers"/>; the chunk takes
    /// it over): the payload stays where it is, no copy; <see cref="Release"/> returns the buffer. On error the buffer is returned.
    /// </summary>
    public static ReceivedChunk ParseOwned(byte[] message, int length)
    {
        try
        {
            return Parse(new ReadOnlySequence<byte>(message, 0, length), message);
        }
        catch
        {
            ChunkBuffers.Shared.Return(message);
            throw;
        }
    }

    private static ReceivedChunk Parse(ReadOnlySequence<byte> data, byte[]? owned)
    {
        var reader = new SequenceReader<byte>(data);
        var chunk = new ReceivedChunk();
        if (owned is not null)
        {
            chunk._buffer = owned;
        }
        while (!reader.End)
        {
            var tag = ReadVarint(ref reader);
            switch ((int)(tag >> 3), (int)(tag & 7))
            {
                case (1, 2): chunk.RunId = ReadString(ref reader); break;
                case (2, 0): chunk.Generation = (long)ReadVarint(ref reader); break;
                case (3, 0): chunk.SourceRank = (int)ReadVarint(ref reader); break;
                case (4, 0): chunk.OpSeq = (long)ReadVarint(ref reader); break;
                case (5, 0): chunk.Op = (CollectiveOp)(int)ReadVarint(ref reader); break;
                case (6, 0): chunk.Step = (int)ReadVarint(ref reader); break;
                case (7, 0): chunk.Chunk = (int)ReadVarint(ref reader); break;
                case (8, 0): chunk.TotalElements = (long)ReadVarint(ref reader); break;
                case (9, 0): chunk.DType = (ChunkDType)(int)ReadVarint(ref reader); break;
                case (10, 2):
                {
                    var length = ReadLength(ref reader);
                    chunk.PayloadLength = length;
                    if (owned is not null)
                    {
                        chunk._payloadOffset = (int)reader.Consumed;
                        reader.Advance(length);
                        break;
                    }
                    chunk.Release();
                    chunk._buffer = ChunkBuffers.Shared.Rent(length);
                    if (!reader.TryCopyTo(chunk._buffer.AsSpan(0, length)))
                    {
                        throw Malformed("payload");
                    }
                    reader.Advance(length);
                    break;
                }
                case (11, 2): chunk.AbortReason = ReadString(ref reader); break;
                case (12, 0): chunk.ShmSlot = (int)ReadVarint(ref reader); break;
                case (13, 0): chunk.ShmBytes = (int)ReadVarint(ref reader); break;
                case (_, 0): ReadVarint(ref reader); break;
                case (_, 1): Skip(ref reader, 8); break;
                case (_, 2): Skip(ref reader, ReadLength(ref reader)); break;
                case (_, 5): Skip(ref reader, 4); break;
                default: throw Malformed($"wire type {tag & 7}");
            }
        }
        return chunk;
    }

    private static ulong ReadVarint(ref SequenceReader<byte> reader)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (!reader.TryRead(out var b))
            {
                throw Malformed("varint");
            }
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
        throw Malformed("varint");
    }

    private static int ReadLength(ref SequenceReader<byte> reader)
    {
        var length = ReadVarint(ref reader);
        return length <= (ulong)reader.Remaining ? (int)length : throw Malformed("length");
    }

    private static string ReadString(ref SequenceReader<byte> reader)
    {
        var length = ReadLength(ref reader);
        var text = Encoding.UTF8.GetString(reader.UnreadSequence.Slice(0, length));
        reader.Advance(length);
        return text;
    }

    private static void Skip(ref SequenceReader<byte> reader, long count)
    {
        if (reader.Remaining < count)
        {
            throw Malformed("field");
        }
        reader.Advance(count);
    }

    private static RpcException Malformed(string what)
    {
        return new RpcException(new Status(StatusCode.InvalidArgument, $"malformed ChunkFrame: truncated or invalid {what}"));
    }
}
