using System.Buffers;
using Google.Protobuf;
using MmCluster.Collectives.Protocol;
using MmCluster.Collectives.Ring;
using Xunit;

namespace MmCluster.Collectives.Tests.Ring;

/// <summary>The receiver's hand-written parser reads exactly what the generated ChunkFrame serializer writes.</summary>
public sealed class ReceivedChunkSpecs
{
    [Fact]
    public void Should_read_every_field_when_parsing_a_generated_request_split_across_segments()
    {
        var payload = Enumerable.Range(0, 1000).Select(i => (byte)(i * 7)).ToArray();
        var request = new ChunkFrame
        {
            RunId = "run-é",
            Generation = 1L << 40,
            SourceRank = 3,
            OpSeq = 123_456_789_012,
            Op = CollectiveOp.ReduceScatter,
            Step = 2,
            Chunk = -1,
            TotalElements = 5_000_000_000,
            Dtype = ChunkDType.Bfloat16,
            Payload = ByteString.CopyFrom(payload),
            AbortReason = "because",
        };
        var bytes = request.ToByteArray();

        var chunk = ReceivedChunk.Parse(Split(bytes, 17));

        Assert.Equal(("run-é", 1L << 40, 3, 123_456_789_012L, CollectiveOp.ReduceScatter, 2, -1, 5_000_000_000L, "because"),
            (chunk.RunId, chunk.Generation, chunk.SourceRank, chunk.OpSeq, chunk.Op, chunk.Step, chunk.Chunk, chunk.TotalElements, chunk.AbortReason));
        Assert.Equal(payload, chunk.Payload.ToArray());
        chunk.Release();
    }

    [Fact]
    public void Should_refuse_a_request_when_the_payload_is_truncated()
    {
        var bytes = new ChunkFrame { Payload = ByteString.CopyFrom(new byte[100]) }.ToByteArray();

        Assert.Throws<Grpc.Core.RpcException>(() => ReceivedChunk.Parse(new ReadOnlySequence<byte>(bytes.AsMemory(0, 50))));
    }

    private static ReadOnlySequence<byte> Split(byte[] bytes, int segmentLength)
    {
        Segment? first = null;
        Segment? last = null;
        for (var offset = 0; offset < bytes.Length; offset += segmentLength)
        {
            var memory = bytes.AsMemory(offset, Math.Min(segmentLength, bytes.Length - offset));
            last = last is null ? first = new Segment(memory, 0) : last.Append(memory);
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
