using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using Google.Protobuf;
using MmCluster.Collectives.Protocol;

namespace MmCluster.Collectives.Ring;

/// <summary>
/// The bulk socket of one edge lane between hosts: a plain TCP connection that the receiver opens to the sender's
/// <see cref="TcpLaneListener"/> once they agreed on it over the lane's gRPC stream, authenticated both ways by
/// <see cref="TcpLaneHandshake"/>. Each chunk is an 8-byte prefix (header length, payload length; little-endian), the
/// ChunkFrame's tags without payload (protobuf), then the payload, sent straight from the caller's buffer and read straight
/// into a pooled one (<see cref="ChunkBuffers"/>): one kernel copy each way, no HTTP/2 framing, no per-chunk array.
/// The gRPC stream stays the lane's control channel: aborts, the sender's clean end and the failure of the peer travel there.
/// </summary>
internal sealed class TcpLane : IDisposable
{
    /// <summary>Kernel socket buffers on both ends: a few 1 MiB chunks in flight per lane.</summary>
    public const int SocketBufferBytes = 4 << 20;

    private const int PrefixBytes = 8;
    private const int MaxHeaderBytes = 64 << 10;
    private const int MaxPayloadBytes = 1 << 30;

    private readonly Socket _socket;
    private byte[] _header = new byte[256];

    public TcpLane(Socket socket)
    {
        _socket = socket;
        Configure(socket);
    }

    /// <summary>The peer's end point, for messages.</summary>
    public string Remote => _socket.RemoteEndPoint?.ToString() ?? "?";

    /// <summary>TCP_NODELAY (a chunk's header must not wait for an ACK) and large buffers.</summary>
    public static void Configure(Socket socket)
    {
        socket.NoDelay = true;
        socket.SendBufferSize = SocketBufferBytes;
        socket.ReceiveBufferSize = SocketBufferBytes;
    }

    /// <summary>
    /// The receiver's side: connects to the sender's listener at <paramref name="host"/>:<paramref name="port"/>, sends the
    /// hello and checks the answer, all within <paramref name="timeout"/>. Throws <see cref="TcpLaneRefusedException"/> when
    /// the sender refused (the lane then stays inline on both sides), <see cref="AuthenticationException"/> when the sender
    /// accepted without proving the token, and what the socket throws otherwise.
    /// </summary>
    public static async Task<TcpLane> ConnectAsync(string host, int port, TcpLaneHandshake.Hello hello, string token, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            Configure(socket);
            await socket.ConnectAsync(host == "localhost" ? IPAddress.Loopback.ToString() : host, port, cts.Token).ConfigureAwait(false);
            var helloBytes = TcpLaneHandshake.WriteHello(hello, token);
            await socket.SendAsync(helloBytes, SocketFlags.None, cts.Token).ConfigureAwait(false);
            var status = new byte[1];
            await ReadExactlyAsync(socket, status, cts.Token).ConfigureAwait(false);
            if (status[0] == 0)
            {
                var mac = new byte[TcpLaneHandshake.MacBytes];
                await ReadExactlyAsync(socket, mac, cts.Token).ConfigureAwait(false);
                if (!TcpLaneHandshake.VerifyAccepted(helloBytes, mac, token))
                {
                    throw new AuthenticationException($"the TCP lane listener at {host}:{port} accepted without proving the run's token");
                }
                return new TcpLane(socket);
            }
            var length = new byte[2];
            await ReadExactlyAsync(socket, length, cts.Token).ConfigureAwait(false);
            var reason = new byte[BinaryPrimitives.ReadUInt16LittleEndian(length)];
            await ReadExactlyAsync(socket, reason, cts.Token).ConfigureAwait(false);
            throw new TcpLaneRefusedException($"the TCP lane listener at {host}:{port} refused: {System.Text.Encoding.ASCII.GetString(reason)}");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends one chunk: its tags, then its payload from where it lies. Writes on one lane must not overlap.</summary>
    public async Task WriteAsync(ChunkFrame frame, CancellationToken ct)
    {
        var payload = frame.Payload;
        frame.Payload = ByteString.Empty;
        var headerLength = frame.CalculateSize();
        if (_header.Length < PrefixBytes + headerLength)
        {
            _header = new byte[PrefixBytes + headerLength];
        }
        BinaryPrimitives.WriteInt32LittleEndian(_header, headerLength);
        BinaryPrimitives.WriteInt32LittleEndian(_header.AsSpan(4), payload.Length);
        frame.WriteTo(_header.AsSpan(PrefixBytes, headerLength));
        frame.Payload = payload;
        await SendAllAsync(_header.AsMemory(0, PrefixBytes + headerLength), ct).ConfigureAwait(false);
        if (payload.Length > 0)
        {
            await SendAllAsync(payload.Memory, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reads the next chunk, its payload in a pooled buffer; null when the sender closed the connection between two chunks.
    /// Throws <see cref="IOException"/> on a connection that ends mid-chunk or a malformed prefix. One reader per lane.
    /// </summary>
    public async ValueTask<ReceivedChunk?> ReadAsync(CancellationToken ct)
    {
        if (!await ReadExactlyAsync(_socket, _header.AsMemory(0, PrefixBytes), ct, endAllowed: true).ConfigureAwait(false))
        {
            return null;
        }
        var headerLength = BinaryPrimitives.ReadInt32LittleEndian(_header);
        var payloadLength = BinaryPrimitives.ReadInt32LittleEndian(_header.AsSpan(4));
        if (headerLength is < 0 or > MaxHeaderBytes || payloadLength is < 0 or > MaxPayloadBytes)
        {
            throw new IOException($"malformed chunk on the TCP lane from {Remote}: header of {headerLength} bytes, payload of {payloadLength}");
        }
        if (_header.Length < headerLength)
        {
            _header = new byte[Math.Max(headerLength, PrefixBytes)];
        }
        await ReadExactlyAsync(_socket, _header.AsMemory(0, headerLength), ct).ConfigureAwait(false);
        var chunk = ReceivedChunk.Parse(new ReadOnlySequence<byte>(_header, 0, headerLength));
        if (payloadLength > 0)
        {
            var buffer = ChunkBuffers.Shared.Rent(payloadLength);
            try
            {
                await ReadExactlyAsync(_socket, buffer.AsMemory(0, payloadLength), ct).ConfigureAwait(false);
            }
            catch
            {
                ChunkBuffers.Shared.Return(buffer);
                throw;
            }
            chunk.AttachPayload(buffer, payloadLength);
        }
        return chunk;
    }

    private async Task SendAllAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        while (!data.IsEmpty)
        {
            var sent = await _socket.SendAsync(data, SocketFlags.None, ct).ConfigureAwait(false);
            data = data[sent..];
        }
    }

    /// <summary>Fills <paramref name="buffer"/>; false only when <paramref name="endAllowed"/> and the peer closed before its first byte.</summary>
    public static async ValueTask<bool> ReadExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken ct, bool endAllowed = false)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await socket.ReceiveAsync(buffer[read..], SocketFlags.None, ct).ConfigureAwait(false);
            if (n == 0)
            {
                if (endAllowed && read == 0)
                {
                    return false;
                }
                throw new IOException($"the TCP peer {socket.RemoteEndPoint} closed the connection after {read} of {buffer.Length} bytes");
            }
            read += n;
        }
        return true;
    }

    public void Dispose()
    {
        _socket.Dispose(); // what was sent still reaches the peer, then FIN
    }
}

/// <summary>The sender refused a TCP lane (it told why); the lane's payloads stay inline in the gRPC stream.</summary>
internal sealed class TcpLaneRefusedException(string message) : IOException(message);
