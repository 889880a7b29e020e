using System.Security.Cryptography;
using System.Threading.Channels;
using Grpc.Core;

namespace MmCluster.Collectives.Ring;

/// <summary>
/// How a lane's payloads travel, negotiated on its gRPC stream: the receiver offers a same-host ring and asks for a bulk
/// TCP lane in the call's metadata; the sender answers both in its response headers; the receiver reads the TCP socket
/// with a loop of its own while the stream stays the control channel.
/// </summary>
public sealed partial class GrpcCollectiveGroup
{
    /// <summary>How long a sender that agreed to a TCP lane waits for its receiver to connect before it keeps the lane inline.</summary>
    private static readonly TimeSpan TcpAcceptWindow = TimeSpan.FromSeconds(15);

    /// <summary>How long a receiver may take to connect and authenticate an agreed TCP lane (well inside <see cref="TcpAcceptWindow"/>).</summary>
    private static readonly TimeSpan TcpConnectTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long a broken TCP socket waits for the stream to tell why (an abort, the peer's death) before it breaks the group itself.</summary>
    private static readonly TimeSpan TcpBreakGrace = TimeSpan.FromSeconds(2);

    /// <summary>A same-host ring for an inbound lane, when the transport allows one and the directory can hold it.</summary>
    private SharedMemoryRing? OfferRing(RingDirection direction, int lane)
    {
        if (_options.Transport != CollectiveTransport.Auto)
        {
            if (_options.Transport == CollectiveTransport.Grpc)
            {
                _laneTransports[(int)direction, lane] = LaneTransport.Inline(direction, lane, "shared memory off");
            }
            return null; // a TCP lane is told once its sender has answered
        }
        try
        {
            return SharedMemoryRing.Create(_options.SharedMemoryDirectory, _options.SharedMemorySlots, _options.ChunkBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            _laneTransports[(int)direction, lane] = LaneTransport.Inline(direction, lane, $"no ring in {_options.SharedMemoryDirectory}: {e.Message}");
            return null;
        }
    }

    /// <summary>The TCP lane an inbound lane asks its sender for, when the transport allows one: a fresh nonce and the lane's claims.</summary>
    private TcpLaneRequest? TcpRequest(int peer, RingDirection direction, int lane)
    {
        if (_options.Transport is not (CollectiveTransport.Auto or CollectiveTransport.Tcp))
        {
            return null;
        }
        var host = new Uri(_options.PeerAddresses[peer]).DnsSafeHost;
        return new TcpLaneRequest(RandomNumberGenerator.GetBytes(TcpLaneHandshake.NonceBytes), host, _options.BearerToken, _options.RunId,
            _options.Generation, Rank, direction, lane, TcpConnectTimeout);
    }

    private bool AllowsTcp => _options.Transport is CollectiveTransport.Auto or CollectiveTransport.Tcp;

    /// <summary>
    /// The sender's answers to what the receiver asked for, in the response headers: the ring is mapped when this rank's
    /// transport allows it and the file is there (same host); otherwise a TCP lane is offered on this server's listener when
    /// the transport allows it, and this waits (up to <see cref="TcpAcceptWindow"/>) for the receiver's authenticated
    /// connection. Null for both: payloads inline.
    /// </summary>
    private async Task<(SharedMemoryRing? Ring, TcpLane? Tcp)> AnswerLaneOffersAsync(CollectiveHeaders headers, ServerCallContext context)
    {
        var answers = new Metadata();
        SharedMemoryRing? ring = null;
        if (headers.SharedMemory is { } offer)
        {
            var refusal = $"this rank's transport is {_options.Transport.ToString().ToLowerInvariant()}";
            if (_options.Transport == CollectiveTransport.Auto)
            {
                ring = SharedMemoryRing.TryOpen(_options.SharedMemoryDirectory, offer.Path, offer.NonceHex, offer.Slots, offer.SlotBytes, out refusal);
            }
            answers.Add(CollectiveHeaders.ShmAnswerKey, Printable(ring is not null ? CollectiveHeaders.ShmAccepted : $"refused: {refusal}"));
        }
        TcpLaneListener.Offer? tcpOffer = null;
        if (headers.TcpNonce is { } nonce)
        {
            if (ring is null && AllowsTcp)
            {
                tcpOffer = _server.TcpLanes.Open(_options.RunId, _options.Generation, headers.SourceRank, headers.Direction, headers.Lane, nonce);
            }
            answers.Add(CollectiveHeaders.TcpAnswerKey, tcpOffer is not null ? new TcpLaneAnswer(_server.TcpLanes.Port, tcpOffer.SenderNonce).ToString()
                : ring is not null ? "refused: the lane uses shared memory"
                : $"refused: this rank's transport is {_options.Transport.ToString().ToLowerInvariant()}");
        }
        if (answers.Count == 0)
        {
            return (null, null);
        }
        try
        {
            await context.WriteResponseHeadersAsync(answers).ConfigureAwait(false);
        }
        catch
        {
            ring?.Dispose();
            if (tcpOffer is not null)
            {
                _server.TcpLanes.Withdraw(tcpOffer);
            }
            throw;
        }
        if (tcpOffer is null)
        {
            return (ring, null);
        }
        try
        {
            return (null, await tcpOffer.Connected.WaitAsync(TcpAcceptWindow, context.CancellationToken).ConfigureAwait(false));
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            if (_server.TcpLanes.Withdraw(tcpOffer))
            {
                if (e is OperationCanceledException)
                {
                    throw;
                }
                return (null, null); // the receiver did not come: it reads inline frames, which it always can
            }
            var late = await tcpOffer.Connected.ConfigureAwait(false); // the receiver came at that very moment
            if (e is OperationCanceledException)
            {
                late.Dispose();
                throw;
            }
            return (null, late);
        }
    }

    private static string Printable(string text)
    {
        return new string(text.Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray());
    }

    /// <summary>
    /// The dedicated read loop of a TCP lane, on a thread of its own (blocking receives): each chunk is read into a pooled
    /// buffer and goes to the inbox after the same checks as a chunk of the stream. When the socket ends or breaks, the
    /// stream usually says why first (the sender's end, abort or death); if it has not ended within
    /// <see cref="TcpBreakGrace"/>, the group breaks naming the peer. The task completes when the loop is done.
    /// </summary>
    private Task StartTcpReader(int peer, RingDirection direction, int laneIndex, InboundLane lane, TcpLane tcp, ChannelWriter<ReceivedChunk> writer,
        Task streamEnded)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                ReadTcp(peer, lane, tcp, writer, streamEnded);
            }
            finally
            {
                done.TrySetResult();
            }
        })
        {
            IsBackground = true,
            Name = $"mmc-tcp {direction}/{laneIndex} from {peer}",
        };
        thread.Start();
        return done.Task;
    }

    private void ReadTcp(int peer, InboundLane lane, TcpLane tcp, ChannelWriter<ReceivedChunk> writer, Task streamEnded)
    {
        Exception? broken = null;
        try
        {
            while (tcp.Read() is { } chunk)
            {
                if (!Admit(peer, chunk, lane))
                {
                    chunk.Release();
                    return;
                }
                if (!writer.TryWrite(chunk))
                {
                    chunk.Release();
                }
            }
        }
        catch (Exception ex)
        {
            broken = ex;
        }
        if (!streamEnded.Wait(TcpBreakGrace) && !_disposeCts.IsCancellationRequested && !lane.Cancelled)
        {
            var why = broken is null ? "closed" : $"broke ({broken.GetType().Name}: {broken.Message})";
            Fault(new CollectiveException($"rank {Rank}: the TCP lane from {Describe(peer)} at {tcp.Remote} {why} while its stream stayed open; did rank {peer} die?",
                peer, broken));
        }
    }
}
