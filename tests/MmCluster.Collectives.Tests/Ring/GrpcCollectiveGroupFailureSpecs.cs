using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using MmCluster.Collectives;
using MmCluster.Collectives.Protocol;
using MmCluster.Collectives.Ring;
using MmCluster.Shared.Security;
using Xunit;

namespace MmCluster.Collectives.Tests.Ring;

/// <summary>No hang, ever: dead and silent peers, wrong or missing tokens and stale generations fail every rank within the deadline.</summary>
public sealed class GrpcCollectiveGroupFailureSpecs
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(2);

    [Theory]
    [InlineData(3, 1, CollectiveTransport.Grpc)]
    [InlineData(4, 2, CollectiveTransport.Grpc)]
    [InlineData(3, 1, CollectiveTransport.Auto)]
    [InlineData(2, 0, CollectiveTransport.Auto)]
    [InlineData(3, 1, CollectiveTransport.Tcp)]
    [InlineData(4, 2, CollectiveTransport.Tcp)]
    [InlineData(2, 0, CollectiveTransport.Tcp)]
    public async Task Should_fail_every_survivor_naming_the_dead_rank_when_a_peer_dies_mid_all_reduce(int world, int dead, CollectiveTransport transport)
    {
        // A dead peer is noticed by its broken streams, not by the deadline: a roomier deadline than the other specs' keeps
        // a loaded machine (slow server disposal) from turning the broken stream into a timeout.
        var deadline = TimeSpan.FromSeconds(6);
        await using var ring = await LoopbackRing.StartAsync(world, deadline: deadline, transport: transport);
        var buffers = Enumerable.Range(0, world).Select(_ => new float[100_000]).ToArray();
        await ring.RunAsync(g => g.AllReduceAsync(buffers[g.Rank], ReduceOp.Sum));

        var clock = Stopwatch.StartNew();
        var survivors = ring.Groups.Where(g => g.Rank != dead)
            .Select(g => Task.Run(() => Assert.ThrowsAsync<CollectiveException>(() => g.AllReduceAsync(buffers[g.Rank], ReduceOp.Sum)))).ToArray();
        await Task.Delay(300);
        await ring.Servers[dead].DisposeAsync();
        var failures = await Task.WhenAll(survivors);

        Assert.True(clock.Elapsed < deadline, $"survivors failed after {clock.Elapsed}, the deadline is {deadline}");
        foreach (var failure in failures)
        {
            Assert.Contains($"rank {dead} (", failure.Message);
        }
        // Whoever points at a lost peer points at the dead one; a survivor that only heard a neighbour's abort points at
        // no one (the neighbour is alive and reports for itself).
        Assert.All(failures, f => Assert.Contains(CollectiveException.LostPeerOf(f), new int?[] { dead, null }));
        Assert.Contains(failures, f => CollectiveException.LostPeerOf(f) == dead);
    }

    [Theory]
    [InlineData(CollectiveTransport.Grpc)]
    [InlineData(CollectiveTransport.Auto)]
    [InlineData(CollectiveTransport.Tcp)]
    public async Task Should_name_the_rank_whose_server_stopped_and_not_let_it_blame_its_peers(CollectiveTransport transport)
    {
        await using var ring = await LoopbackRing.StartAsync(3, deadline: TimeSpan.FromSeconds(6), transport: transport);
        await ring.RunAsync(g => g.BarrierAsync()); // every lane open

        // Rank 1's server stops (its process is going away); its group object lives on but must not tell the others that
        // their streams to it broke by their fault.
        await ring.Servers[1].DisposeAsync();
        await Task.Delay(300);
        var failures = await Task.WhenAll(new[] { 0, 2 }.Select(r => Task.Run(() =>
            Assert.ThrowsAsync<CollectiveException>(() => ring.Groups[r].AllReduceAsync(new float[1000], ReduceOp.Sum)))));

        Assert.All(failures, f => Assert.DoesNotContain("rank 1 (" + ring.Servers[1].Address + ") aborted", f.Message, StringComparison.Ordinal));
        Assert.Contains(failures, f => CollectiveException.LostPeerOf(f) == 1);
        Assert.All(failures, f => Assert.Contains(CollectiveException.LostPeerOf(f), new int?[] { 1, null }));
    }

    [Theory]
    [InlineData(CollectiveTransport.Grpc)]
    [InlineData(CollectiveTransport.Auto)]
    [InlineData(CollectiveTransport.Tcp)]
    public async Task Should_fail_every_rank_within_the_deadline_when_a_peer_stays_silent(CollectiveTransport transport)
    {
        await using var ring = await LoopbackRing.StartAsync(3, deadline: Deadline, transport: transport);
        var clock = Stopwatch.StartNew();
        var failures = await Task.WhenAll(ring.Groups.Take(2)
            .Select(g => Task.Run(() => Assert.ThrowsAsync<CollectiveException>(() => g.AllReduceAsync(new float[1000], ReduceOp.Sum)))));

        Assert.True(clock.Elapsed < Deadline + TimeSpan.FromSeconds(1.5), $"ranks failed after {clock.Elapsed}, the deadline is {Deadline}");
        Assert.All(failures, f => Assert.Matches("timed out|aborted", f.Message));
        Assert.Contains(failures, f => f.Message.Contains("waiting for step 0 chunk 0 from rank 2 (", StringComparison.Ordinal)); // the silent peer is named
    }

    [Theory]
    [InlineData(CollectiveTransport.Grpc)]
    [InlineData(CollectiveTransport.Auto)]
    [InlineData(CollectiveTransport.Tcp)]
    public async Task Should_still_deliver_what_a_peer_sent_before_it_left_and_fail_the_next_operation_naming_it(CollectiveTransport transport)
    {
        await using var ring = await LoopbackRing.StartAsync(2, deadline: Deadline, transport: transport);
        await ring.RunAsync(g => g.BarrierAsync()); // every lane open
        var sent = Enumerable.Range(0, 100_000).Select(i => (float)i).ToArray(); // fits the lanes' buffers: rank 1 need not wait for rank 0

        // Rank 1, the root, is done with the broadcast as soon as its chunks are handed over, and leaves at once.
        await ring.Groups[1].BroadcastAsync(sent.ToArray(), root: 1);
        await ring.Groups[1].DisposeAsync();
        await Task.Delay(300); // its leaving reaches rank 0 before rank 0 even starts the broadcast
        var received = new float[sent.Length];
        await ring.Groups[0].BroadcastAsync(received, root: 1);
        Assert.Equal(sent, received);

        var clock = Stopwatch.StartNew();
        var failure = await Assert.ThrowsAsync<CollectiveException>(() => ring.Groups[0].AllReduceAsync(new float[10], ReduceOp.Sum));
        Assert.True(clock.Elapsed < Deadline, $"failed after {clock.Elapsed}, the deadline is {Deadline}");
        Assert.Contains("rank 1 (", failure.Message);
        Assert.Contains("left the group", failure.Message);
    }

    [Fact]
    public async Task Should_refuse_the_call_naming_the_token_when_a_rank_has_the_wrong_token()
    {
        await using var ring = await LoopbackRing.StartAsync(2, o => o.Rank == 1 ? o with { BearerToken = "not-the-secret" } : o, Deadline);
        var outcomes = await Task.WhenAll(ring.Groups
            .Select(g => Task.Run(() => Record.ExceptionAsync(() => g.AllGatherAsync(new float[10], new float[20])))));

        // Rank 1's calls are refused, so rank 1 fails naming the token; rank 0 may finish on what rank 1 sent it.
        var refused = Assert.IsType<CollectiveException>(outcomes[1]);
        Assert.Contains("Unauthenticated", refused.Message, StringComparison.Ordinal);
        Assert.Contains("bearer token", refused.Message, StringComparison.Ordinal);
        Assert.Null(CollectiveException.LostPeerOf(refused)); // rank 0 answered: it is not lost, rank 1's token is wrong
    }

    [Theory]
    [InlineData("run-a", "Bearer not-the-secret")]
    [InlineData("no-such-run", "Bearer not-the-secret")]
    [InlineData("no-such-run", "Basic dGVzdC1zZWNyZXQ=")]
    [InlineData("run-a", null)]
    public async Task Should_refuse_at_once_with_the_same_answer_when_the_token_is_wrong_whatever_the_run(string runId, string? authorization)
    {
        await using var ring = await LoopbackRing.StartAsync(2, deadline: Deadline);
        using var channel = GrpcChannel.ForAddress(ring.Servers[0].Address);
        var headers = new Metadata
        {
            { "mmc-run-id", runId }, { "mmc-generation", "1" }, { "mmc-source-rank", "1" }, { "mmc-direction", "Forward" },
            { "mmc-lane", "0" }, { "mmc-lanes", "1" }, { "mmc-wait-ms", "30000" },
        };
        if (authorization is not null)
        {
            headers.Add("authorization", authorization);
        }
        var clock = Stopwatch.StartNew();
        using var call = new Collective.CollectiveClient(channel).PullChunks(headers);
        var error = await Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext(CancellationToken.None));

        // The token is checked before the run is looked up: an unknown run is not waited for (30 s here), and the answer
        // is the same whether the run exists or not.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"refused after {clock.Elapsed}");
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal(BearerTokenInterceptor.DefaultRefusal, error.Status.Detail);
    }

    [Fact]
    public async Task Should_refuse_a_call_as_unauthenticated_when_it_carries_no_token()
    {
        await using var ring = await LoopbackRing.StartAsync(2, deadline: Deadline);
        using var channel = GrpcChannel.ForAddress(ring.Servers[0].Address);
        using var call = new Collective.CollectiveClient(channel).PullChunks();
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await call.RequestStream.CompleteAsync();
            await call.ResponseStream.MoveNext(CancellationToken.None);
        });

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
    }

    [Fact]
    public async Task Should_refuse_the_stream_naming_the_generations_when_a_rank_is_from_a_stale_generation()
    {
        // The refusal is immediate once the stream reaches the other server; a roomier deadline than the other specs'
        // keeps a slow first connection on a loaded CI machine from being reported as a timeout instead.
        var deadline = TimeSpan.FromSeconds(10);
        await using var ring = await LoopbackRing.StartAsync(2, o => o.Rank == 0 ? o with { Generation = 2 } : o, deadline);
        var clock = Stopwatch.StartNew();
        var failures = await Task.WhenAll(ring.Groups
            .Select(g => Task.Run(() => Assert.ThrowsAsync<CollectiveException>(() => g.AllGatherAsync(new float[10], new float[20])))));

        Assert.True(clock.Elapsed < deadline + TimeSpan.FromSeconds(1.5), $"ranks failed after {clock.Elapsed}");
        Assert.Contains("stale generation 1 for run 'run-a': this worker is at generation 2", failures[1].Message);
    }
}
