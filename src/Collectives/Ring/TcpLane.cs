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
/// into a pooled one (<see cref="ChunkBuffers"/>) by blocking receives on the lane's own thread: one kernel copy each way,
/// no HTTP/2 framing, no per-chunk array.
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
    /// The receiver's side, blocking (call it on the thread that will read the lane): connects to the sender's listener at
    /// <paramref name="host"/>:<paramref name="port"/>, sends the hello and checks the answer, all within
    /// <paramref name="timeout"/>. Throws <see cref="TcpLaneRefusedException"/> when the sender refused (the lane then stays
    /// inline on both sides), <see cref="AuthenticationException"/> when the sender accepted without proving the token, and
    /// what the socket throws otherwise (a socket closed by the timeout: <see cref="TimeoutException"/>).
    /// <para>Synchronous on purpose: a socket that never saw an async call stays in blocking mode, so every receive of the
    /// read loop is one blocking recv() on the lane's own thread, not the runtime's epoll emulation (as <see cref="Http2PullCall"/>).</para>
    /// </summary>
    public static TcpLane Connect(string host, int port, TcpLaneHandshake.Hello hello, string token, TimeSpan timeout)
    {
        var literal = IPAddress.TryParse(host.Trim('[', ']'), out var ip);
        var socket = literal ? new Socket(ip!.AddressFamily, SocketType.Stream, ProtocolType.Tcp) : new Socket(SocketType.Stream, ProtocolType.Tcp);
        using var expired = new CancellationTokenSource(timeout);
        using var closeOnTimeout = expired.Token.Register(socket.Dispose);
        try
        {
            Configure(socket);
            if (literal)
            {
                socket.Connect(new IPEndPoint(ip!, port));
            }
            else
            {
                socket.Connect(host, port);
            }
            var helloBytes = TcpLaneHandshake.WriteHello(hello, token);
            socket.Send(helloBytes);
            var status = new byte[1];
            ReadExactly(socket, status);
            if (status[0] == 0)
            {
                var mac = new byte[TcpLaneHandshake.MacBytes];
                ReadExactly(socket, mac);
                if (!TcpLaneHandshake.VerifyAccepted(helloBytes, mac, token))
                {
                    throw new AuthenticationException($"the TCP lane listener at {host}:{port} accepted without proving the run's token");
                }
                closeOnTimeout.Unregister();
                if (expired.IsCancellationRequested)
                {
                    throw new TimeoutException($"the TCP lane handshake with {host}:{port} took longer than {timeout.TotalSeconds:0.#} s");
                }
                return new TcpLane(socket);
            }
            var length = new byte[2];
            ReadExactly(socket, length);
            var reason = new byte[BinaryPrimitives.ReadUInt16LittleEndian(length)];
            ReadExactly(socket, reason);
            throw new TcpLaneRefusedException($"the TCP lane listener at {host}:{port} refused: {System.Text.Encoding.ASCII.GetString(reason)}");
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException && expired.IsCancellationRequested)
        {
            socket.Dispose();
            throw new TimeoutException($"the TCP lane handshake with {host}:{port} took longer than {timeout.TotalSeconds:0.#} s", e);
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
    /// Reads the next chunk, blocking, its payload in a pooled buffer; null when the sender closed the connection between
    /// two chunks. Throws <see cref="IOException"/> on a connection that ends mid-chunk or a malformed prefix, and what the
    /// socket throws once it is closed. One reader per lane (its own thread).
    /// </summary>
    public ReceivedChunk? Read()
    {
        if (!ReadExactly(_socket, _header.AsSpan(0, PrefixBytes), endAllowed: true))
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
        ReadExactly(_socket, _header.AsSpan(0, headerLength));
        var chunk = ReceivedChunk.Parse(new ReadOnlySequence<byte>(_header, 0, headerLength));
        if (payloadLength > 0)
        {
            var buffer = ChunkBuffers.Shared.Rent(payloadLength);
            try
            {
                ReadExactly(_socket, buffer.AsSpan(0, payloadLength));
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
                return EndedCleanly(socket, read, buffer.Length, endAllowed);
            }
            read += n;
        }
        return true;
    }

    /// <summary>Fills <paramref name="buffer"/> with blocking receives; false only when <paramref name="endAllowed"/> and the peer closed before its first byte.</summary>
    private static bool ReadExactly(Socket socket, Span<byte> buffer, bool endAllowed = false)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = socket.Receive(buffer[read..]);
            if (n == 0)
            {
                return EndedCleanly(socket, read, buffer.Length, endAllowed);
            }
            read += n;
        }
        return true;
    }

    /// <summary>The peer closed after <paramref name="read"/> of <paramref name="length"/> bytes: false when that is a clean end between messages, else throws.</summary>
    private static bool EndedCleanly(Socket socket, int read, int length, bool endAllowed)
    {
        return endAllowed && read == 0
            ? false
            : throw new IOException($"the TCP peer {socket.RemoteEndPoint} closed the connection after {read} of {length} bytes");
    }

    public void Dispose()
    {
        _socket.Dispose(); // what was sent still reaches the peer, then FIN
    }
}

/// <summary>The sender refused a TCP lane (it told why); the lane's payloads stay inline in the gRPC stream.</summary>
internal sealed class TcpLaneRefusedException(string message) : IOException(message);
