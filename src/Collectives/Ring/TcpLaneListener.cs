using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace MmCluster.Collectives.Ring;

/// <summary>
/// The collective server's listener for bulk TCP lanes (<see cref="TcpLane"/>), on the server's IP and a port of its own.
/// A sender that agrees to a lane over gRPC registers an <see cref="Offer"/> under a fresh nonce and names the port and
/// nonce in its answer; the receiver then connects and says hello (<see cref="TcpLaneHandshake"/>). A connection is handed
/// to the offer only when its hello names a pending nonce, carries the mac of the run's token, and claims the run,
/// generation, receiver and lane of that offer (a stale generation is refused: fencing). Anything else is refused with the
/// reason, logged, and closed; the offer stays open for the real receiver.
/// </summary>
internal sealed class TcpLaneListener : IAsyncDisposable
{
    private static readonly TimeSpan HelloTimeout = TimeSpan.FromSeconds(10);

    private readonly Socket _listener;
    private readonly string _token;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Offer> _offers = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;

    public TcpLaneListener(IPAddress ip, string token, ILogger logger)
    {
        _token = token;
        _logger = logger;
        _listener = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (ip.AddressFamily == AddressFamily.InterNetworkV6)
        {
            _listener.DualMode = true;
        }
        _listener.Bind(new IPEndPoint(ip, 0));
        _listener.Listen(64);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public int Port { get; }

    /// <summary>A lane this rank agreed to send on over TCP: waits for its receiver's authenticated connection.</summary>
    public sealed class Offer(string runId, long generation, int receiverRank, RingDirection direction, int lane, byte[] receiverNonce)
    {
        private readonly TaskCompletionSource<TcpLane> _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public byte[] SenderNonce { get; } = RandomNumberGenerator.GetBytes(TcpLaneHandshake.NonceBytes);

        public string RunId { get; } = runId;

        public long Generation { get; } = generation;

        public int ReceiverRank { get; } = receiverRank;

        public RingDirection Direction { get; } = direction;

        public int Lane { get; } = lane;

        public byte[] ReceiverNonce { get; } = receiverNonce;

        public Task<TcpLane> Connected => _connected.Task;

        internal bool Complete(TcpLane lane) => _connected.TrySetResult(lane);
    }

    /// <summary>Registers a lane to accept; <see cref="Withdraw"/> it when its call ends or the receiver does not come.</summary>
    public Offer Open(string runId, long generation, int receiverRank, RingDirection direction, int lane, byte[] receiverNonce)
    {
        var offer = new Offer(runId, generation, receiverRank, direction, lane, receiverNonce);
        _offers[Convert.ToHexStringLower(offer.SenderNonce)] = offer;
        return offer;
    }

    /// <summary>
    /// No connection is handed to <paramref name="offer"/> from now on. True when it was still pending (so the lane stays
    /// inline); false when its receiver already got it.
    /// </summary>
    public bool Withdraw(Offer offer) => _offers.TryRemove(new KeyValuePair<string, Offer>(Convert.ToHexStringLower(offer.SenderNonce), offer));

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                _logger.LogWarning("TCP lane listener on port {Port}: accept failed: {Error}", Port, e.Message);
                continue;
            }
            _ = Task.Run(() => HandshakeAsync(socket));
        }
    }

    private async Task HandshakeAsync(Socket socket)
    {
        var remote = socket.RemoteEndPoint?.ToString() ?? "?";
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(HelloTimeout);
        try
        {
            var fixedPart = new byte[TcpLaneHandshake.FixedBytes];
            await TcpLane.ReadExactlyAsync(socket, fixedPart, timeout.Token).ConfigureAwait(false);
            if (!TcpLaneHandshake.HasMagic(fixedPart))
            {
                await RefuseAsync(socket, remote, "not a collective TCP lane hello", timeout.Token).ConfigureAwait(false);
                return;
            }
            var runIdLength = TcpLaneHandshake.RunIdLength(fixedPart);
            if (runIdLength > TcpLaneHandshake.MaxRunIdBytes)
            {
                await RefuseAsync(socket, remote, $"run id of {runIdLength} bytes", timeout.Token).ConfigureAwait(false);
                return;
            }
            var message = new byte[fixedPart.Length + runIdLength + TcpLaneHandshake.MacBytes];
            fixedPart.CopyTo(message, 0);
            await TcpLane.ReadExactlyAsync(socket, message.AsMemory(fixedPart.Length), timeout.Token).ConfigureAwait(false);
            var hello = TcpLaneHandshake.ReadHello(message);
            var refusal = Check(message, hello, out var offer);
            if (refusal is not null)
            {
                await RefuseAsync(socket, remote, refusal, timeout.Token).ConfigureAwait(false);
                return;
            }
            await socket.SendAsync(TcpLaneHandshake.WriteAccepted(message, _token), SocketFlags.None, timeout.Token).ConfigureAwait(false);
            if (!offer!.Complete(new TcpLane(socket)))
            {
                socket.Dispose();
            }
        }
        catch (Exception e)
        {
            if (!_stop.IsCancellationRequested)
            {
                _logger.LogWarning("TCP lane listener on port {Port}: refused the connection from {Remote}: no valid hello ({Error})", Port, remote, e.Message);
            }
            socket.Dispose();
        }
    }

    /// <summary>Why a hello is refused, or null when it opens <paramref name="offer"/> (which is then taken off the pending list).</summary>
    private string? Check(byte[] message, TcpLaneHandshake.Hello hello, out Offer? offer)
    {
        offer = null;
        if (!_offers.TryGetValue(Convert.ToHexStringLower(hello.SenderNonce), out var pending))
        {
            return "no lane is offered under that nonce";
        }
        if (!TcpLaneHandshake.VerifyHello(message, _token))
        {
            return "wrong HMAC: the peer does not prove the run's token";
        }
        if (!CryptographicOperations.FixedTimeEquals(hello.ReceiverNonce, pending.ReceiverNonce))
        {
            return "the receiver nonce is not the one offered on the gRPC stream";
        }
        if (hello.RunId != pending.RunId || hello.Generation != pending.Generation)
        {
            return $"run '{hello.RunId}' generation {hello.Generation}, but the lane is of run '{pending.RunId}' generation {pending.Generation} (stale generation)";
        }
        if (hello.ReceiverRank != pending.ReceiverRank || hello.Direction != pending.Direction || hello.Lane != pending.Lane)
        {
            return $"rank {hello.ReceiverRank} {hello.Direction} lane {hello.Lane}, but the lane is rank {pending.ReceiverRank}'s {pending.Direction} lane {pending.Lane}";
        }
        if (!Withdraw(pending))
        {
            return "the lane is already connected";
        }
        offer = pending;
        return null;
    }

    private async Task RefuseAsync(Socket socket, string remote, string reason, CancellationToken ct)
    {
        _logger.LogWarning("TCP lane listener on port {Port}: refused the connection from {Remote}: {Reason}", Port, remote, reason);
        try
        {
            await socket.SendAsync(TcpLaneHandshake.WriteRefused(reason), SocketFlags.None, ct).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception)
        {
            // The peer is gone already: nothing more to tell it.
        }
        finally
        {
            socket.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        try
        {
            await _acceptLoop.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Stopping: the loop ends however the closed socket makes it end.
        }
        foreach (var offer in _offers.Values)
        {
            Withdraw(offer);
        }
    }
}
