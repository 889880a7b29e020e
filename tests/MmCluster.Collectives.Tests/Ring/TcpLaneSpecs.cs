using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using MmCluster.Collectives.Protocol;
using MmCluster.Collectives.Ring;
using Xunit;

namespace MmCluster.Collectives.Tests.Ring;

/// <summary>
/// The bulk TCP lane's door: only a peer that holds the run's token, answers the nonces of the gRPC stream that agreed on
/// the lane and claims that lane's run and generation gets the socket; every other connection is refused with the reason
/// and logged, and the lane stays open for the real receiver. The receiver checks the sender's proof too.
/// </summary>
public sealed class TcpLaneSpecs
{
    [Fact]
    public async Task Should_accept_the_receiver_that_proves_the_token_when_its_hello_answers_the_stream_nonces()
    {
        await using var door = await LaneDoor.OpenAsync();

        using var lane = await Dial("127.0.0.1", door.Answer.Port, door.Hello(), LoopbackRing.Token, TimeSpan.FromSeconds(10));

        Assert.Empty(door.Log);
    }

    [Fact]
    public async Task Should_refuse_and_log_the_connection_when_its_hello_is_signed_with_another_token()
    {
        await using var door = await LaneDoor.OpenAsync();

        var refused = await Assert.ThrowsAsync<TcpLaneRefusedException>(() =>
            Dial("127.0.0.1", door.Answer.Port, door.Hello(), "not-the-secret", TimeSpan.FromSeconds(10)));

        Assert.Contains("wrong HMAC", refused.Message, StringComparison.Ordinal);
        Assert.Contains(door.Log, line => line.Contains("refused the connection from 127.0.0.1:", StringComparison.Ordinal) && line.Contains("wrong HMAC", StringComparison.Ordinal));
        using var genuine = await Dial("127.0.0.1", door.Answer.Port, door.Hello(), LoopbackRing.Token, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Should_refuse_and_log_the_connection_when_it_claims_a_stale_generation()
    {
        await using var door = await LaneDoor.OpenAsync();

        var refused = await Assert.ThrowsAsync<TcpLaneRefusedException>(() =>
            Dial("127.0.0.1", door.Answer.Port, door.Hello() with { Generation = LaneDoor.Generation - 1 }, LoopbackRing.Token, TimeSpan.FromSeconds(10)));

        Assert.Contains($"generation {LaneDoor.Generation - 1}, but the lane is of run 'run-a' generation {LaneDoor.Generation} (stale generation)", refused.Message, StringComparison.Ordinal);
        Assert.Contains(door.Log, line => line.Contains("stale generation", StringComparison.Ordinal));
        using var genuine = await Dial("127.0.0.1", door.Answer.Port, door.Hello(), LoopbackRing.Token, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Should_refuse_and_log_the_connection_when_a_peer_without_the_token_guesses_a_nonce()
    {
        await using var door = await LaneDoor.OpenAsync();
        var guess = door.Hello() with { SenderNonce = RandomNumberGenerator.GetBytes(TcpLaneHandshake.NonceBytes) };

        var refused = await Assert.ThrowsAsync<TcpLaneRefusedException>(() =>
            Dial("127.0.0.1", door.Answer.Port, guess, "no-token", TimeSpan.FromSeconds(10)));

        Assert.Contains("no lane is offered under that nonce", refused.Message, StringComparison.Ordinal);
        Assert.Contains(door.Log, line => line.Contains("no lane is offered under that nonce", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Should_refuse_and_log_the_connection_when_it_sends_anything_but_a_hello()
    {
        await using var door = await LaneDoor.OpenAsync();
        using var stranger = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await stranger.ConnectAsync(IPAddress.Loopback, door.Answer.Port);
        var request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray();
        await stranger.SendAsync(request.Concat(new byte[TcpLaneHandshake.FixedBytes - request.Length]).ToArray()); // as long as a hello's head

        var status = new byte[1];
        await TcpLane.ReadExactlyAsync(stranger, status, CancellationToken.None);

        Assert.Equal(1, status[0]);
        Assert.Contains(door.Log, line => line.Contains("not a collective TCP lane hello", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Should_refuse_a_listener_that_accepts_without_proving_the_token_when_the_receiver_connects()
    {
        using var impostor = new TcpListener(IPAddress.Loopback, 0);
        impostor.Start();
        var hello = new TcpLaneHandshake.Hello(RandomNumberGenerator.GetBytes(16), RandomNumberGenerator.GetBytes(16), "run-a", 1, 1, RingDirection.Forward, 0);
        var serving = Task.Run(async () =>
        {
            using var socket = await impostor.AcceptSocketAsync();
            var anything = new byte[TcpLaneHandshake.FixedBytes];
            await TcpLane.ReadExactlyAsync(socket, anything, CancellationToken.None);
            await socket.SendAsync(new byte[1 + TcpLaneHandshake.MacBytes]); // "accepted", with a mac it cannot compute
            await Task.Delay(500);
        });

        await Assert.ThrowsAsync<AuthenticationException>(() =>
            Dial("127.0.0.1", ((IPEndPoint)impostor.LocalEndpoint).Port, hello, LoopbackRing.Token, TimeSpan.FromSeconds(10)));
        await serving;
    }

    [Fact]
    public async Task Should_move_payloads_on_tcp_lanes_when_auto_cannot_share_memory()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"mmc-no-shm-{Guid.NewGuid():N}"); // never created: no ring can be offered
        await using var ring = await LoopbackRing.StartAsync(3, o => o with { SharedMemoryDirectory = missing }, transport: CollectiveTransport.Auto);
        var buffers = Enumerable.Range(0, 3).Select(r => Enumerable.Range(0, 100_000).Select(i => (float)(i % 97 + r)).ToArray()).ToArray();
        var expected = Enumerable.Range(0, 100_000).Select(i => (float)(3 * (i % 97) + 3)).ToArray();

        await Task.WhenAll(ring.Groups.Select(g => Task.Run(() => g.AllReduceAsync(buffers[g.Rank], ReduceOp.Sum))));

        Assert.All(buffers, b => Assert.Equal(expected, b));
        Assert.All(ring.Groups.SelectMany(g => g.Lanes), lane => Assert.True(lane.Tcp, $"lane {lane} is not on TCP"));
    }

    [Fact]
    public async Task Should_keep_payloads_inline_naming_the_reason_when_the_sender_does_not_allow_tcp_lanes()
    {
        await using var ring = await LoopbackRing.StartAsync(2, o => o with { Transport = o.Rank == 0 ? CollectiveTransport.Grpc : CollectiveTransport.Tcp });
        var buffers = new[] { new float[] { 1, 2 }, new float[] { 3, 4 } };

        await Task.WhenAll(ring.Groups.Select(g => Task.Run(() => g.AllReduceAsync(buffers[g.Rank], ReduceOp.Mean))));

        Assert.All(buffers, b => Assert.Equal([2f, 3f], b));
        Assert.Contains("grpc (tcp refused: this rank's transport is grpc)", ring.Groups[1].TransportSummary, StringComparison.Ordinal);
        Assert.DoesNotContain(ring.Groups.SelectMany(g => g.Lanes), lane => lane.Tcp);
    }

    [Fact]
    public void Should_fail_verification_when_any_byte_of_a_hello_is_changed()
    {
        var hello = new TcpLaneHandshake.Hello(RandomNumberGenerator.GetBytes(16), RandomNumberGenerator.GetBytes(16), "run-a", 7, 2, RingDirection.Backward, 1);
        var message = TcpLaneHandshake.WriteHello(hello, "secret");

        Assert.True(TcpLaneHandshake.VerifyHello(message, "secret"));
        Assert.False(TcpLaneHandshake.VerifyHello(message, "secret2"));
        Assert.Equal(hello, TcpLaneHandshake.ReadHello(message), new HelloComparer());
        for (var i = 0; i < message.Length; i++)
        {
            var tampered = message.ToArray();
            tampered[i] ^= 0x01;
            Assert.False(TcpLaneHandshake.VerifyHello(tampered, "secret"), $"a flipped bit in byte {i} went unnoticed");
        }
    }

    /// <summary>The receiver's blocking connect and handshake, off the test's thread.</summary>
    private static Task<TcpLane> Dial(string host, int port, TcpLaneHandshake.Hello hello, string token, TimeSpan timeout) =>
        Task.Run(() => TcpLane.Connect(host, port, hello, token, timeout));

    private sealed class HelloComparer : IEqualityComparer<TcpLaneHandshake.Hello>
    {
        public bool Equals(TcpLaneHandshake.Hello? x, TcpLaneHandshake.Hello? y) =>
            x is not null && y is not null && x.SenderNonce.SequenceEqual(y.SenderNonce) && x.ReceiverNonce.SequenceEqual(y.ReceiverNonce)
            && x with { SenderNonce = [], ReceiverNonce = [] } == y with { SenderNonce = [], ReceiverNonce = [] };

        public int GetHashCode(TcpLaneHandshake.Hello obj) => obj.RunId.GetHashCode(StringComparison.Ordinal);
    }

    /// <summary>
    /// Rank 0 of a two-rank ring with the TCP transport, and this spec in the place of rank 1: it opens rank 0's Forward
    /// lane 0 over gRPC with the token, asking for a TCP lane, and holds the sender's answer (port and nonce).
    /// </summary>
    private sealed class LaneDoor : IAsyncDisposable
    {
        public const long Generation = 3;

        private readonly CollectiveServer _server;
        private readonly GrpcCollectiveGroup _group;
        private readonly GrpcChannel _channel;
        private readonly AsyncDuplexStreamingCall<PullControl, ChunkFrame> _call;
        private readonly byte[] _receiverNonce;

        private LaneDoor(CollectiveServer server, GrpcCollectiveGroup group, GrpcChannel channel, AsyncDuplexStreamingCall<PullControl, ChunkFrame> call,
            byte[] receiverNonce, TcpLaneAnswer answer, ListLogger log)
        {
            _server = server;
            _group = group;
            _channel = channel;
            _call = call;
            _receiverNonce = receiverNonce;
            Answer = answer;
            Log = log.Lines;
        }

        public TcpLaneAnswer Answer { get; }

        public IReadOnlyCollection<string> Log { get; }

        public TcpLaneHandshake.Hello Hello() => new(Answer.SenderNonce, _receiverNonce, "run-a", Generation, 1, RingDirection.Forward, 0);

        public static async Task<LaneDoor> OpenAsync()
        {
            var log = new ListLogger();
            var server = await CollectiveServer.StartAsync(new CollectiveServerOptions
            {
                BearerToken = LoopbackRing.Token,
                Transport = CollectiveTransport.Tcp,
                Logger = log,
            });
            var group = GrpcCollectiveGroup.Create(server.GroupOptions("run-a", Generation, 0, [server.Address, "http://127.0.0.1:9"]), server);
            var channel = GrpcChannel.ForAddress(server.Address);
            var receiverNonce = RandomNumberGenerator.GetBytes(TcpLaneHandshake.NonceBytes);
            var headers = new CollectiveHeaders("run-a", Generation, 1, RingDirection.Forward, 0, 2, TimeSpan.FromSeconds(10), TcpNonce: receiverNonce)
                .ToMetadata(LoopbackRing.Token);
            var call = new Collective.CollectiveClient(channel).PullChunks(headers);
            var answered = (await call.ResponseHeadersAsync).GetValue(CollectiveHeaders.TcpAnswerKey);
            var answer = TcpLaneAnswer.TryParse(answered) ?? throw new InvalidOperationException($"the sender did not offer a TCP lane: '{answered}'");
            return new LaneDoor(server, group, channel, call, receiverNonce, answer, log);
        }

        public async ValueTask DisposeAsync()
        {
            _call.Dispose();
            _channel.Dispose();
            await _group.DisposeAsync();
            await _server.DisposeAsync();
        }
    }

    private sealed class ListLogger : ILogger
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyCollection<string> Lines => _lines;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            _lines.Enqueue(formatter(state, exception));
        }
    }
}
