using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using MmCluster.Collectives.Protocol;

namespace MmCluster.Collectives.Ring;

/// <summary>
/// The receiver's side of one PullChunks call (protos/collective.proto), spoken as gRPC over HTTP/2 cleartext directly on a
/// socket instead of through Grpc.Net.Client and SocketsHttpHandler: the bulk path of every lane, so it is built for bytes.
/// <para>Why: the .NET HTTP/2 client advertises 16 KiB frames, so the sender's Kestrel cut every MiB into 64 DATA frames
/// (a lock round and a flow-control update each), and each payload byte was copied three times in user space on the way
/// in (HTTP/2 stream buffer, gRPC message buffer, pooled chunk). This client advertises 16 MiB frames and large windows,
/// reads each gRPC message straight from the socket into one pooled buffer (the kernel's copy is the only one; large
/// reads bypass its own buffer) and parses the chunk in place (<see cref="ReceivedChunk.ParseOwned"/>).</para>
/// <para>What it speaks: the client preface and SETTINGS (no push, HPACK table size 0, 16 MiB frames, 64 MiB windows,
/// replenished as data arrives), one request stream (HEADERS with the call's metadata as literal fields; DATA frames for
/// the PullControl messages; END_STREAM to complete it; RST_STREAM CANCEL to cancel), PING and SETTINGS acknowledged,
/// WINDOW_UPDATE honoured for its own small sends, GOAWAY and RST_STREAM turned into errors. Response headers and trailers
/// are decoded with the HPACK static table and literal fields (.NET's encoder never uses Huffman coding; a Huffman-coded
/// string fails the call with a clear error rather than being misread). A non-OK grpc-status in the trailers surfaces as
/// <see cref="RpcException"/> with that status and message, as Grpc.Net.Client would report it; a broken connection as
/// Unavailable.</para>
/// <para>Threads: one dedicated reader thread per call (blocking receives: no async state machine per frame); sends from
/// any thread under a lock.</para>
/// </summary>
internal sealed class Http2PullCall : IPullCall
{
    private const int FrameHeaderBytes = 9;
    private const int MaxFrameSize = (1 << 24) - 1;
    private const int ReceiveWindow = 64 << 20;
    private const int WindowRefill = 16 << 20;
    private const int DirectReadBytes = 32 << 10;
    private const int StreamId = 1;

    private const byte Data = 0x0, Headers = 0x1, RstStream = 0x3, Settings = 0x4, PushPromise = 0x5, Ping = 0x6, GoAway = 0x7, WindowUpdate = 0x8,
        Continuation = 0x9;
    private const byte EndStream = 0x1, Ack = 0x1, EndHeaders = 0x4, Padded = 0x8, Priority = 0x20;

    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    /// <summary>Names of RFC 7541's static table entries 17-61 (their values are empty).</summary>
    private static readonly string[] StaticNames =
    [
        "accept-language", "accept-ranges", "accept", "access-control-allow-origin", "age", "allow", "authorization", "cache-control",
        "content-disposition", "content-encoding", "content-language", "content-length", "content-location", "content-range", "content-type",
        "cookie", "date", "etag", "expect", "expires", "from", "host", "if-match", "if-modified-since", "if-none-match", "if-range",
        "if-unmodified-since", "last-modified", "link", "location", "max-forwards", "proxy-authenticate", "proxy-authorization", "range",
        "referer", "refresh", "retry-after", "server", "set-cookie", "strict-transport-security", "transfer-encoding", "user-agent", "vary",
        "via", "www-authenticate",
    ];

    private readonly Uri _address;
    private readonly Lock _sendLock = new();
    private readonly Lock _windowLock = new();
    private readonly Channel<ReceivedChunk> _chunks = Channel.CreateUnbounded<ReceivedChunk>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly TaskCompletionSource<Metadata> _headers = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _connectCts = new();
    private readonly byte[] _in = new byte[256 << 10];
    private Socket? _socket;
    private int _inStart;
    private int _inEnd;
    private int _frameRemaining;
    private int _padRemaining;
    private bool _dataEndedStream;
    private bool _ended;
    private bool _gotHeaders;
    private int _unacknowledged;
    private long _sendWindowStream = 65_535;
    private long _sendWindowConnection = 65_535;
    private int _peerInitialWindow = 65_535;
    private TaskCompletionSource _windowGrew = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Exception? _failure;
    private volatile bool _cancelled;
    private bool _requestEnded;

    public Http2PullCall(string address, Metadata metadata, TimeSpan connectTimeout)
    {
        _address = new Uri(address);
        ResponseStream = new Reader(this);
        var reader = new Thread(() => Run(metadata, connectTimeout)) { IsBackground = true, Name = $"mmc-pull {_address.Authority}" };
        reader.Start();
    }

    /// <summary>The sender's response headers; faults like the call when it fails first.</summary>
    public Task<Metadata> ResponseHeadersAsync => _headers.Task;

    /// <summary>The chunks in order; MoveNext returns false after OK trailers and throws the call's failure otherwise.</summary>
    public IAsyncStreamReader<ReceivedChunk> ResponseStream { get; }

    /// <summary>Sends one PullControl message on the request stream.</summary>
    public async Task WriteAsync(PullControl message, CancellationToken ct)
    {
        await _connected.Task.WaitAsync(ct).ConfigureAwait(false);
        var size = message.CalculateSize();
        var payload = new byte[5 + size]; // gRPC message prefix: not compressed, big-endian length
        BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(1), (uint)size);
        message.WriteTo(payload.AsSpan(5));
        await ReserveSendWindowAsync(payload.Length, ct).ConfigureAwait(false);
        lock (_sendLock)
        {
            ObjectDisposedException.ThrowIf(_requestEnded, this);
            SendFrameLocked(Data, 0, StreamId, payload);
        }
    }

    /// <summary>Ends the request stream (the sender reads it as "this receiver left").</summary>
    public async Task CompleteAsync()
    {
        await _connected.Task.ConfigureAwait(false);
        lock (_sendLock)
        {
            if (!_requestEnded)
            {
                _requestEnded = true;
                SendFrameLocked(Data, EndStream, StreamId, []);
            }
        }
    }

    /// <summary>Cancels the call (RST_STREAM CANCEL, best effort) and closes the connection; the reader ends with Cancelled.</summary>
    public void Dispose()
    {
        if (_cancelled)
        {
            return;
        }
        _cancelled = true;
        _connectCts.Cancel();
        if (_socket is { } socket)
        {
            try
            {
                lock (_sendLock)
                {
                    Span<byte> code = stackalloc byte[4];
                    BinaryPrimitives.WriteUInt32BigEndian(code, 0x8); // CANCEL
                    SendFrameLocked(RstStream, 0, StreamId, code);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
            socket.Dispose();
        }
    }

    private void Run(Metadata metadata, TimeSpan connectTimeout)
    {
        try
        {
            var socket = Connect(connectTimeout);
            lock (_sendLock)
            {
                _socket = socket;
                if (_cancelled)
                {
                    socket.Dispose();
                    throw new OperationCanceledException();
                }
                SendOpeningLocked(metadata);
            }
            _connected.TrySetResult();
            ReadMessages();
        }
        catch (Exception e)
        {
            Fail(e);
        }
    }

    private Socket Connect(TimeSpan timeout)
    {
        // A synchronous connect keeps the socket in blocking mode, so every receive is one blocking recv() on this thread;
        // an async connect would switch it to the runtime's epoll emulation of blocking calls (an event wait per receive).
        // The timeout and a cancel close the socket, which ends the connect.
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 4 << 20 };
        using var stop = _connectCts.Token.Register(socket.Dispose);
        _connectCts.CancelAfter(timeout);
        try
        {
            if (IPAddress.TryParse(_address.Host.Trim('[', ']'), out var ip))
            {
                socket.Connect(new IPEndPoint(ip, _address.Port));
            }
            else
            {
                socket.Connect(_address.Host, _address.Port);
            }
            _connectCts.CancelAfter(Timeout.Infinite);
            return socket;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException && _connectCts.IsCancellationRequested && !_cancelled)
        {
            socket.Dispose();
            throw new RpcException(new Status(StatusCode.Unavailable, $"no connection to {_address.Authority} within {timeout.TotalSeconds:0.#} s"));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Preface, SETTINGS, a connection window the size of the stream's, and the call's HEADERS, in one send.</summary>
    private void SendOpeningLocked(Metadata metadata)
    {
        var settings = new byte[4 * 6];
        WriteSetting(settings.AsSpan(0), 0x1, 0); // HEADER_TABLE_SIZE: no dynamic table in our decoder
        WriteSetting(settings.AsSpan(6), 0x2, 0); // ENABLE_PUSH
        WriteSetting(settings.AsSpan(12), 0x4, ReceiveWindow); // INITIAL_WINDOW_SIZE
        WriteSetting(settings.AsSpan(18), 0x5, MaxFrameSize); // MAX_FRAME_SIZE
        var block = EncodeRequestHeaders(metadata);
        var buffer = new ArrayBufferWriter<byte>(256 + block.Length);
        buffer.Write(Preface);
        WriteFrame(buffer, Settings, 0, 0, settings);
        Span<byte> increment = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(increment, ReceiveWindow - 65_535);
        WriteFrame(buffer, WindowUpdate, 0, 0, increment);
        WriteFrame(buffer, Headers, EndHeaders, StreamId, block);
        _socket!.Send(buffer.WrittenSpan);
    }

    private static void WriteSetting(Span<byte> target, ushort id, uint value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(target, id);
        BinaryPrimitives.WriteUInt32BigEndian(target[2..], value);
    }

    private byte[] EncodeRequestHeaders(Metadata metadata)
    {
        var block = new ArrayBufferWriter<byte>(512);
        block.Write<byte>([0x83, 0x86]); // :method POST, :scheme http (static table 3 and 6)
        WriteLiteral(block, 4, null, $"/{Collective.Descriptor.FullName}/PullChunks"); // :path
        WriteLiteral(block, 1, null, _address.Authority); // :authority
        WriteLiteral(block, 31, null, "application/grpc"); // content-type
        WriteLiteral(block, 0, "te", "trailers");
        foreach (var entry in metadata)
        {
            if (!entry.IsBinary)
            {
                WriteLiteral(block, 0, entry.Key, entry.Value);
            }
        }
        return block.WrittenSpan.ToArray();
    }

    /// <summary>HPACK "literal header field without indexing": by static-table name index, or with a new name (index 0).</summary>
    private static void WriteLiteral(ArrayBufferWriter<byte> block, int nameIndex, string? name, string value)
    {
        WriteInteger(block, 0x00, 4, nameIndex);
        if (nameIndex == 0)
        {
            WriteString(block, name!);
        }
        WriteString(block, value);
    }

    private static void WriteString(ArrayBufferWriter<byte> block, string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        WriteInteger(block, 0x00, 7, bytes.Length);
        block.Write(bytes);
    }

    private static void WriteInteger(ArrayBufferWriter<byte> block, byte flags, int prefixBits, int value)
    {
        var max = (1 << prefixBits) - 1;
        if (value < max)
        {
            block.Write<byte>([(byte)(flags | value)]);
            return;
        }
        block.Write<byte>([(byte)(flags | max)]);
        value -= max;
        while (value >= 0x80)
        {
            block.Write<byte>([(byte)(value % 0x80 + 0x80)]);
            value /= 0x80;
        }
        block.Write<byte>([(byte)value]);
    }

    private static void WriteFrame(ArrayBufferWriter<byte> buffer, byte type, byte flags, int stream, ReadOnlySpan<byte> payload)
    {
        var header = buffer.GetSpan(FrameHeaderBytes);
        header[0] = (byte)(payload.Length >> 16);
        header[1] = (byte)(payload.Length >> 8);
        header[2] = (byte)payload.Length;
        header[3] = type;
        header[4] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(header[5..], (uint)stream);
        buffer.Advance(FrameHeaderBytes);
        buffer.Write(payload);
    }

    private void SendFrameLocked(byte type, byte flags, int stream, ReadOnlySpan<byte> payload)
    {
        var buffer = new ArrayBufferWriter<byte>(FrameHeaderBytes + payload.Length);
        WriteFrame(buffer, type, flags, stream, payload);
        _socket!.Send(buffer.WrittenSpan);
    }

    private void SendFrame(byte type, byte flags, int stream, ReadOnlySpan<byte> payload)
    {
        lock (_sendLock)
        {
            SendFrameLocked(type, flags, stream, payload);
        }
    }

    private async Task ReserveSendWindowAsync(int bytes, CancellationToken ct)
    {
        while (true)
        {
            Task grew;
            lock (_windowLock)
            {
                if (_sendWindowStream >= bytes && _sendWindowConnection >= bytes)
                {
                    _sendWindowStream -= bytes;
                    _sendWindowConnection -= bytes;
                    return;
                }
                grew = _windowGrew.Task;
            }
            await grew.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>The reader thread's loop: one gRPC message after the other, until OK trailers (or a failure).</summary>
    private void ReadMessages()
    {
        Span<byte> prefix = stackalloc byte[5];
        while (NextData())
        {
            ReadExactly(prefix);
            if (prefix[0] != 0)
            {
                throw new RpcException(new Status(StatusCode.Internal, $"{_address.Authority} sent a compressed message; collectives never compress"));
            }
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(prefix[1..]);
            if (length < 0)
            {
                throw new RpcException(new Status(StatusCode.Internal, $"{_address.Authority} sent a message of {(uint)length} bytes"));
            }
            var message = ChunkBuffers.Shared.Rent(length);
            try
            {
                ReadExactly(message.AsSpan(0, length));
            }
            catch
            {
                ChunkBuffers.Shared.Return(message);
                throw;
            }
            _chunks.Writer.TryWrite(ReceivedChunk.ParseOwned(message, length));
        }
        _chunks.Writer.TryComplete();
    }

    /// <summary>Fills <paramref name="target"/> from the stream's DATA frames (control frames in between are handled).</summary>
    private void ReadExactly(Span<byte> target)
    {
        while (!target.IsEmpty)
        {
            if (_frameRemaining == 0 && !NextData())
            {
                throw new RpcException(new Status(StatusCode.Internal, $"the stream from {_address.Authority} ended in the middle of a message"));
            }
            var got = ReadRaw(target[..Math.Min(target.Length, _frameRemaining)]);
            target = target[got..];
            _frameRemaining -= got;
            if (_frameRemaining == 0 && _padRemaining > 0)
            {
                Skip(_padRemaining);
                _padRemaining = 0;
            }
        }
    }

    /// <summary>
    /// Makes sure DATA bytes of the stream are ready to read, handling every other frame on the way; false once the stream
    /// has ended with OK trailers. Non-OK trailers, resets and GOAWAY throw.
    /// </summary>
    private bool NextData()
    {
        Span<byte> header = stackalloc byte[FrameHeaderBytes];
        while (_frameRemaining == 0)
        {
            if (_ended)
            {
                return false;
            }
            if (_dataEndedStream)
            {
                throw new RpcException(new Status(StatusCode.Internal, $"the stream from {_address.Authority} ended without a grpc-status"));
            }
            ReadRawExactly(header);
            var length = header[0] << 16 | header[1] << 8 | header[2];
            var type = header[3];
            var flags = header[4];
            var stream = (int)(BinaryPrimitives.ReadUInt32BigEndian(header[5..]) & 0x7FFF_FFFF);
            if (length > MaxFrameSize)
            {
                throw ProtocolError($"a frame of {length} bytes, more than the {MaxFrameSize} this client allows");
            }
            switch (type)
            {
                case Data:
                    ReceiveDataFrame(length, flags, stream);
                    break;
                case Headers:
                    ReceiveHeaders(ReadPayload(length), flags, stream);
                    break;
                case RstStream:
                {
                    var code = BinaryPrimitives.ReadUInt32BigEndian(ReadPayload(length));
                    throw new RpcException(new Status(code == 0x8 ? StatusCode.Cancelled : StatusCode.Unavailable,
                        $"{_address.Authority} reset the stream (HTTP/2 error code {code})"));
                }
                case Settings:
                    ReceiveSettings(ReadPayload(length), flags);
                    break;
                case Ping:
                {
                    var payload = ReadPayload(length);
                    if ((flags & Ack) == 0)
                    {
                        SendFrame(Ping, Ack, 0, payload);
                    }
                    break;
                }
                case GoAway:
                {
                    var payload = ReadPayload(length);
                    var lastStream = (int)(BinaryPrimitives.ReadUInt32BigEndian(payload) & 0x7FFF_FFFF);
                    var code = BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(4));
                    if (code != 0 || lastStream < StreamId)
                    {
                        throw new RpcException(new Status(StatusCode.Unavailable,
                            $"{_address.Authority} closed the connection (GOAWAY, HTTP/2 error code {code}: {Encoding.ASCII.GetString(payload, 8, payload.Length - 8)})"));
                    }
                    break; // a graceful GOAWAY lets this stream finish
                }
                case WindowUpdate:
                    ReceiveWindowUpdate(ReadPayload(length), stream);
                    break;
                case PushPromise:
                case Continuation:
                    throw ProtocolError(type == PushPromise ? "PUSH_PROMISE although push is disabled" : "CONTINUATION without HEADERS");
                default:
                    Skip(length); // PRIORITY and unknown frame types are ignored, as RFC 9113 asks
                    break;
            }
        }
        return true;
    }

    private void ReceiveDataFrame(int length, byte flags, int stream)
    {
        if (stream != StreamId)
        {
            throw ProtocolError($"DATA on stream {stream}");
        }
        Consumed(length);
        var pad = 0;
        if ((flags & Padded) != 0)
        {
            pad = ReadPayload(1)[0];
            length -= 1;
            if (pad > length)
            {
                throw ProtocolError("DATA padding longer than the frame");
            }
        }
        _frameRemaining = length - pad;
        _padRemaining = pad;
        if (_frameRemaining == 0 && pad > 0)
        {
            Skip(pad);
            _padRemaining = 0;
        }
        _dataEndedStream = (flags & EndStream) != 0;
    }

    /// <summary>Gives the sender back the window it used once a quarter of it is consumed (stream and connection).</summary>
    private void Consumed(int bytes)
    {
        _unacknowledged += bytes;
        if (_unacknowledged < WindowRefill)
        {
            return;
        }
        Span<byte> increment = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(increment, (uint)_unacknowledged);
        _unacknowledged = 0;
        lock (_sendLock)
        {
            SendFrameLocked(WindowUpdate, 0, 0, increment);
            if (!_ended && !_dataEndedStream)
            {
                SendFrameLocked(WindowUpdate, 0, StreamId, increment);
            }
        }
    }

    private void ReceiveSettings(byte[] payload, byte flags)
    {
        if ((flags & Ack) != 0)
        {
            return;
        }
        if (payload.Length % 6 != 0)
        {
            throw ProtocolError($"SETTINGS of {payload.Length} bytes");
        }
        for (var i = 0; i < payload.Length; i += 6)
        {
            var id = BinaryPrimitives.ReadUInt16BigEndian(payload.AsSpan(i));
            var value = BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(i + 2));
            if (id == 0x4)
            {
                lock (_windowLock)
                {
                    _sendWindowStream += (long)value - _peerInitialWindow;
                    _peerInitialWindow = (int)value;
                    SignalWindowLocked();
                }
            }
        }
        SendFrame(Settings, Ack, 0, []);
    }

    private void ReceiveWindowUpdate(byte[] payload, int stream)
    {
        var increment = BinaryPrimitives.ReadUInt32BigEndian(payload) & 0x7FFF_FFFF;
        lock (_windowLock)
        {
            if (stream == 0)
            {
                _sendWindowConnection += increment;
            }
            else if (stream == StreamId)
            {
                _sendWindowStream += increment;
            }
            SignalWindowLocked();
        }
    }

    private void SignalWindowLocked()
    {
        _windowGrew.TrySetResult();
        _windowGrew = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Response headers, or trailers (END_STREAM): a non-OK grpc-status becomes the call's RpcException.</summary>
    private void ReceiveHeaders(byte[] payload, byte flags, int stream)
    {
        var block = new List<byte>();
        var fragment = payload.AsSpan();
        if ((flags & Padded) != 0)
        {
            var pad = fragment[0];
            fragment = fragment[1..^pad];
        }
        if ((flags & Priority) != 0)
        {
            fragment = fragment[5..];
        }
        block.AddRange(fragment);
        Span<byte> header = stackalloc byte[FrameHeaderBytes];
        while ((flags & EndHeaders) == 0)
        {
            ReadRawExactly(header);
            var length = header[0] << 16 | header[1] << 8 | header[2];
            if (header[3] != Continuation)
            {
                throw ProtocolError($"frame type {header[3]} in the middle of a header block");
            }
            flags = (byte)(flags & ~EndHeaders | header[4] & EndHeaders);
            block.AddRange(ReadPayload(length));
        }
        if (stream != StreamId)
        {
            throw ProtocolError($"HEADERS on stream {stream}");
        }
        var fields = HpackDecode(block.ToArray());
        var endsStream = (flags & EndStream) != 0;
        if (!_gotHeaders)
        {
            _gotHeaders = true;
            var status = fields.FirstOrDefault(f => f.Name == ":status").Value;
            if (status != "200")
            {
                throw new RpcException(new Status(StatusCode.Unavailable, $"{_address.Authority} answered HTTP status {status ?? "(none)"} instead of 200"));
            }
            if (!endsStream)
            {
                var metadata = new Metadata();
                foreach (var (name, value) in fields.Where(f => !f.Name.StartsWith(':') && !f.Name.EndsWith("-bin", StringComparison.Ordinal)))
                {
                    metadata.Add(name, value);
                }
                _headers.TrySetResult(metadata);
                return;
            }
        }
        if (!endsStream)
        {
            throw ProtocolError("a second HEADERS frame that does not end the stream");
        }
        _ended = true;
        var code = fields.FirstOrDefault(f => f.Name == "grpc-status").Value;
        if (code != "0")
        {
            var message = fields.FirstOrDefault(f => f.Name == "grpc-message").Value is { } text ? Uri.UnescapeDataString(text) : "";
            var statusCode = int.TryParse(code, out var parsed) ? (StatusCode)parsed : StatusCode.Unknown;
            throw new RpcException(new Status(statusCode, code is null ? $"the stream from {_address.Authority} ended without a grpc-status" : message));
        }
        _headers.TrySetResult([]);
    }

    /// <summary>HPACK (RFC 7541) without a dynamic table (this client advertises size 0) and without Huffman coding.</summary>
    private List<(string Name, string Value)> HpackDecode(byte[] block)
    {
        var fields = new List<(string, string)>();
        var i = 0;
        while (i < block.Length)
        {
            var first = block[i];
            if ((first & 0x80) != 0)
            {
                var index = ReadInteger(block, ref i, 7);
                fields.Add(StaticEntry(index));
            }
            else if ((first & 0xE0) == 0x20)
            {
                ReadInteger(block, ref i, 5); // dynamic table size update: the table stays empty
            }
            else
            {
                var prefix = (first & 0xC0) == 0x40 ? 6 : 4; // with incremental indexing (not kept: size 0) / without or never indexed
                var index = ReadInteger(block, ref i, prefix);
                var name = index == 0 ? ReadString(block, ref i) : StaticEntry(index).Name;
                fields.Add((name, ReadString(block, ref i)));
            }
        }
        return fields;
    }

    private int ReadInteger(byte[] block, ref int i, int prefixBits)
    {
        var max = (1 << prefixBits) - 1;
        var value = block[i++] & max;
        if (value < max)
        {
            return value;
        }
        for (var shift = 0; shift < 28; shift += 7)
        {
            if (i >= block.Length)
            {
                throw ProtocolError("a truncated HPACK integer");
            }
            var b = block[i++];
            value += (b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
        throw ProtocolError("an HPACK integer that is too large");
    }

    private string ReadString(byte[] block, ref int i)
    {
        if (i >= block.Length)
        {
            throw ProtocolError("a truncated HPACK string");
        }
        var huffman = (block[i] & 0x80) != 0;
        var length = ReadInteger(block, ref i, 7);
        if (huffman)
        {
            throw ProtocolError("a Huffman-coded header; this client reads literal headers only (the .NET server never sends others)");
        }
        if (length > block.Length - i)
        {
            throw ProtocolError("a truncated HPACK string");
        }
        var text = Encoding.Latin1.GetString(block, i, length);
        i += length;
        return text;
    }

    private (string Name, string Value) StaticEntry(int index)
    {
        return index switch
        {
            1 => (":authority", ""),
            2 => (":method", "GET"),
            3 => (":method", "POST"),
            4 => (":path", "/"),
            5 => (":path", "/index.html"),
            6 => (":scheme", "http"),
            7 => (":scheme", "https"),
            8 => (":status", "200"),
            9 => (":status", "204"),
            10 => (":status", "206"),
            11 => (":status", "304"),
            12 => (":status", "400"),
            13 => (":status", "404"),
            14 => (":status", "500"),
            15 => ("accept-charset", ""),
            16 => ("accept-encoding", "gzip, deflate"),
            >= 17 and <= 61 => (StaticNames[index - 17], ""),
            _ => throw ProtocolError($"HPACK index {index}, outside the static table (this client keeps no dynamic table)"),
        };
    }

    private RpcException ProtocolError(string what)
    {
        return new RpcException(new Status(StatusCode.Internal, $"HTTP/2 protocol error from {_address.Authority}: {what}"));
    }

    private byte[] ReadPayload(int length)
    {
        var payload = new byte[length];
        ReadRawExactly(payload);
        return payload;
    }

    private void Skip(int count)
    {
        Span<byte> sink = stackalloc byte[256];
        while (count > 0)
        {
            count -= ReadRaw(sink[..Math.Min(count, sink.Length)]);
        }
    }

    private void ReadRawExactly(Span<byte> target)
    {
        while (!target.IsEmpty)
        {
            target = target[ReadRaw(target)..];
        }
    }

    /// <summary>Some bytes of the connection: from the buffer first; large reads go straight from the socket to the target.</summary>
    private int ReadRaw(Span<byte> target)
    {
        if (_inEnd == _inStart)
        {
            if (target.Length >= DirectReadBytes)
            {
                return Receive(target);
            }
            _inStart = 0;
            _inEnd = Receive(_in);
        }
        var n = Math.Min(target.Length, _inEnd - _inStart);
        _in.AsSpan(_inStart, n).CopyTo(target);
        _inStart += n;
        return n;
    }

    private int Receive(Span<byte> target)
    {
        var n = _socket!.Receive(target);
        return n > 0 ? n : throw new RpcException(new Status(StatusCode.Unavailable, $"{_address.Authority} closed the connection"));
    }

    private void Fail(Exception error)
    {
        var failure = _cancelled
            ? new RpcException(new Status(StatusCode.Cancelled, "the call was cancelled by this rank"))
            : error as RpcException ?? new RpcException(new Status(StatusCode.Unavailable, $"the connection to {_address.Authority} failed: {error.Message}"));
        _failure = failure;
        _headers.TrySetException(failure);
        _connected.TrySetException(failure);
        _chunks.Writer.TryComplete();
        _socket?.Dispose();
    }

    /// <summary>The chunk channel as the gRPC stream reader the lane expects.</summary>
    private sealed class Reader(Http2PullCall call) : IAsyncStreamReader<ReceivedChunk>
    {
        public ReceivedChunk Current { get; private set; } = null!;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            var chunks = call._chunks.Reader;
            while (await chunks.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (chunks.TryRead(out var chunk))
                {
                    Current = chunk;
                    return true;
                }
            }
            return call._failure is { } failure ? throw failure : false;
        }
    }
}
