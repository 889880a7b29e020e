using MmCluster.Collectives;
using MmCluster.Collectives.Ring;
using Xunit;

namespace MmCluster.Collectives.Tests.Ring;

/// <summary>
/// Same-host lanes: the shared-memory rings are negotiated over the real gRPC streams, leave no file behind, fall back to
/// inline payloads when the sender cannot use the offer (another host, shared memory off), and keep results exact when
/// the ring is far smaller than what an operation moves (slots handed back and reused many times).
/// </summary>
public sealed class SharedMemoryLaneSpecs : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("mmcluster-shm-spec-").FullName;

    public void Dispose()
    {
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Should_unlink_every_ring_file_once_the_lanes_are_answered_and_leave_none_after_disposal()
    {
        await using (var ring = await LoopbackRing.StartAsync(3, o => o with { SharedMemoryDirectory = _directory }, transport: CollectiveTransport.Auto))
        {
            var buffers = Enumerable.Range(0, 3).Select(r => Enumerable.Range(0, 50_000).Select(i => (float)(r + i)).ToArray()).ToArray();
            await ring.RunAsync(g => g.AllReduceAsync(buffers[g.Rank], ReduceOp.Sum));
            Assert.All(buffers, b => Assert.Equal(3f * 7 + 3, b[7]));
            await WaitUntilEmptyAsync(); // lane 1 of each edge may answer a moment after lane 0's chunks arrived
        }
        Assert.Empty(Directory.GetFiles(_directory));
    }

    [Fact]
    public async Task Should_stay_exact_when_the_ring_has_one_slot_and_an_operation_moves_hundreds_of_chunks()
    {
        await using var ring = await LoopbackRing.StartAsync(2, o => o with { SharedMemoryDirectory = _directory, SharedMemorySlots = 1 },
            chunkBytes: 4096, transport: CollectiveTransport.Auto);
        var n = 300_001; // ~290 chunks of 1,024 floats per rank and step
        var inputs = Enumerable.Range(0, 2).Select(r => Enumerable.Range(0, n).Select(i => (float)Math.Sin(i + 10 * r)).ToArray()).ToArray();
        for (var round = 0; round < 3; round++)
        {
            var buffers = inputs.Select(x => x.ToArray()).ToArray();
            var gathered = new[] { new float[2 * n], new float[2 * n] };
            await ring.RunAsync(async g =>
            {
                await g.AllReduceAsync(buffers[g.Rank], ReduceOp.Sum);
                await g.AllGatherAsync(inputs[g.Rank], gathered[g.Rank]);
            });
            for (var i = 0; i < n; i += 997)
            {
                // W = 2: block b is summed as in[b+1] + in[b], one float addition, commutative: the same on both ranks.
                Assert.Equal(inputs[0][i] + inputs[1][i], buffers[0][i]);
                Assert.Equal(buffers[0][i], buffers[1][i]);
            }
            Assert.All(gathered, g => Assert.Equal(inputs[0].Concat(inputs[1]), g));
        }
    }

    [Fact]
    public async Task Should_fall_back_to_the_tcp_lane_naming_the_reason_when_the_sender_cannot_open_the_ring()
    {
        // The ranks keep their rings in different directories, as ranks on two hosts would: each refuses the other's offers.
        var elsewhere = Directory.CreateTempSubdirectory("mmcluster-shm-other-").FullName;
        try
        {
            await using var ring = await LoopbackRing.StartAsync(2, o => o with { SharedMemoryDirectory = o.Rank == 0 ? elsewhere : _directory });
            var inputs = new[] { new float[] { 1, 2, 3 }, new float[] { 10, 20, 30 } };
            var outputs = new[] { new float[6], new float[6] };
            await ring.RunAsync(g => g.AllGatherAsync(inputs[g.Rank], outputs[g.Rank]));

            Assert.All(outputs, o => Assert.Equal([1, 2, 3, 10, 20, 30], o));
            Assert.All(ring.Groups.SelectMany(g => g.Lanes), lane => Assert.True(lane.Tcp, $"lane {lane} is not on TCP"));
            Assert.Contains("; shm refused: ", ring.Groups[1].TransportSummary);
            Assert.Contains("is not a ring file in " + elsewhere, ring.Groups[1].TransportSummary);
            Assert.Contains("is not a ring file in " + _directory, ring.Groups[0].TransportSummary);
            Assert.DoesNotContain(": shm", ring.Groups[0].TransportSummary + ring.Groups[1].TransportSummary);
            await WaitUntilEmptyAsync();
            Assert.Empty(Directory.GetFiles(elsewhere));
        }
        finally
        {
            Directory.Delete(elsewhere, recursive: true);
        }
    }

    [Fact]
    public async Task Should_keep_payloads_inline_when_the_sender_has_shared_memory_off()
    {
        await using var ring = await LoopbackRing.StartAsync(2,
            o => o with { SharedMemoryDirectory = _directory, Transport = o.Rank == 0 ? CollectiveTransport.Grpc : CollectiveTransport.Auto });
        var buffers = new[] { new float[] { 1, 2 }, new float[] { 3, 4 } };
        await ring.RunAsync(g => g.AllReduceAsync(buffers[g.Rank], ReduceOp.Mean));

        Assert.All(buffers, b => Assert.Equal([2f, 3f], b));
        Assert.Contains("grpc (refused: this rank's transport is grpc)", ring.Groups[1].TransportSummary);
        Assert.Contains("grpc (shared memory off)", ring.Groups[0].TransportSummary);
    }

    [Fact]
    public void Should_refuse_to_open_a_file_that_is_not_the_offered_ring()
    {
        using var offered = SharedMemoryRing.Create(_directory, 2, 4096);
        var nonce = Convert.ToHexStringLower(offered.Nonce);
        var otherNonce = new string('0', 32);

        using (var opened = SharedMemoryRing.TryOpen(_directory, offered.Path, nonce, 2, 4096, out var none))
        {
            Assert.NotNull(opened);
            Assert.Equal("", none);
        }
        Assert.Null(SharedMemoryRing.TryOpen(_directory, offered.Path, otherNonce, 2, 4096, out var wrongNonce));
        Assert.Contains("not the offered ring", wrongNonce);
        Assert.Null(SharedMemoryRing.TryOpen(_directory, offered.Path, nonce, 3, 4096, out var wrongSize));
        Assert.Contains("not the offered ring", wrongSize);
        Assert.Null(SharedMemoryRing.TryOpen(_directory, "/etc/passwd", nonce, 2, 4096, out var elsewhere));
        Assert.Contains("is not a ring file in", elsewhere);
        Assert.Null(SharedMemoryRing.TryOpen(_directory, Path.Combine(_directory, "mmcluster-" + otherNonce + ".ring"), nonce, 2, 4096, out var missing));
        Assert.Contains("cannot open", missing);
        offered.Unlink();
    }

    [Fact]
    public void Should_write_through_one_mapping_what_the_other_reads_and_outlive_disposal_while_a_reader_holds_it()
    {
        var receiver = SharedMemoryRing.Create(_directory, 2, 4096);
        using var sender = SharedMemoryRing.TryOpen(_directory, receiver.Path, Convert.ToHexStringLower(receiver.Nonce), 2, 4096, out _)!;
        receiver.Unlink();
        Assert.Empty(Directory.GetFiles(_directory)); // unlinked, still mapped on both sides

        sender.Slot(1, 4)[..].Fill(0x2A);
        Assert.True(receiver.Acquire());
        receiver.Dispose(); // the owner lets go while a chunk still points into the ring
        Assert.Equal(new byte[] { 0x2A, 0x2A, 0x2A, 0x2A }, receiver.Slot(1, 4).ToArray());
        receiver.Release();
        Assert.False(receiver.Acquire()); // now unmapped: no new reader can attach
        Assert.Throws<ArgumentOutOfRangeException>(() => sender.Slot(2, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => sender.Slot(0, 4097));
    }

    private async Task WaitUntilEmptyAsync()
    {
        for (var i = 0; i < 100 && Directory.GetFiles(_directory).Length > 0; i++)
        {
            await Task.Delay(50);
        }
        Assert.Empty(Directory.GetFiles(_directory));
    }
}
