// push-probe: would pushing bulk data client -> server beat the lanes' pull direction (server -> client)?
// Two processes on loopback each run Kestrel (the collective server's settings: HTTP/2 only, 64 MiB connection and 16 MiB
// stream windows, 16 MiB frames, 256 KiB pinned blocks) serving a client-streaming gRPC method whose deserializer places
// each 1 MiB message straight into an output buffer (the fused receive a push design would use), and each pushes 32 MiB a
// round to the other from a minimal HTTP/2 client that sends every DATA frame from the caller's buffer with one
// sendmsg (no user-space copy on the sending side). With the out-of-place local copy a round is the traffic and work of
// a W = 2, 64 MiB all-gather, so S/2 / t compares with `bench collectives`' all-gather busbw.
// Run: bench/push-probe.sh [ROUNDS]  (prints one line per process)
// usage: push-probe <myPort> <peerPort> <rounds> <localCopy 0|1>
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core;

var myPort = int.Parse(args[0]); var peerPort = int.Parse(args[1]); var rounds = int.Parse(args[2]); var localCopy = args[3] == "1";
const int Chunk = 1 << 20; const int Chunks = 32; const int Bytes = Chunk * Chunks;
Receiver.Dest = GC.AllocateUninitializedArray<byte>(2 * Bytes, pinned: true);
var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.UseSockets(s => s.MaxWriteBufferSize = 4 << 20);
builder.WebHost.ConfigureKestrel(k =>
{
    k.Limits.MaxRequestBodySize = null; k.Limits.MinRequestBodyDataRate = null; k.Limits.MinResponseDataRate = null;
    k.Limits.Http2.InitialConnectionWindowSize = 64 << 20; k.Limits.Http2.InitialStreamWindowSize = 16 << 20;
    k.Limits.Http2.MaxFrameSize = (1 << 24) - 1;
    k.Listen(IPAddress.Loopback, myPort, l => l.Protocols = HttpProtocols.Http2);
});
builder.Services.AddGrpc(g => { g.MaxReceiveMessageSize = null; g.MaxSendMessageSize = null; });
builder.Services.AddSingleton<Microsoft.AspNetCore.Connections.IMemoryPoolFactory<byte>, LargePool.Factory>();
var app = builder.Build();
app.MapGrpcService<PushService>();
await app.StartAsync();
Thread.Sleep(1500); // the peer's server
var client = new PushClient(peerPort);
client.Open();
var local = new byte[Bytes]; Random.Shared.NextBytes(local);
var output = GC.AllocateUninitializedArray<byte>(2 * Bytes);
var times = new List<double>();
var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
for (var r = 0; r < rounds + 3; r++)
{
    var clock = Stopwatch.StartNew();
    if (localCopy) local.AsSpan().CopyTo(output.AsSpan(0, Bytes));
    var push = new Thread(() => { for (var c = 0; c < Chunks; c++) client.Send(local, c * Chunk, Chunk); });
    push.Start();
    Receiver.Round.Wait();
    push.Join();
    if (r == 2) cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
    if (r >= 3) times.Add(clock.Elapsed.TotalMilliseconds);
}
var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds / rounds;
times.Sort();
var med = times[times.Count / 2];
Console.WriteLine($"port {myPort} localCopy={localCopy} median {med:0.00} ms per round, per-direction {Bytes / med / 1e6:0.00} GB/s (= W=2 all-gather busbw), cpu {cpu:0.0} ms/round");
Thread.Sleep(1000);
Environment.Exit(0);

static class Receiver
{
    public static byte[] Dest = [];
    public static long Offset;
    public static int Count;
    public static readonly SemaphoreSlim Round = new(0);
    public static void Place(ReadOnlySequence<byte> seq)
    {
        var at = (int)(Offset % (Dest.Length / 2)) + Dest.Length / 2;
        seq.CopyTo(Dest.AsSpan(at, (int)seq.Length));
        Offset += seq.Length;
        if (++Count % 32 == 0) Round.Release();
    }
}

sealed class Placed { public static readonly Placed Instance = new(); }

[BindServiceMethod(typeof(PushService), nameof(Bind))]
class PushService
{
    static readonly Marshaller<Placed> M = Marshallers.Create<Placed>(
        (Placed _, SerializationContext ctx) => { ctx.SetPayloadLength(0); ctx.Complete(); },
        (DeserializationContext ctx) => { Receiver.Place(ctx.PayloadAsReadOnlySequence()); return Placed.Instance; });
    public static readonly Method<Placed, Placed> Method = new(MethodType.ClientStreaming, "exp.Push", "Push", M, M);
    public static void Bind(ServiceBinderBase b, PushService? s) => b.AddMethod(Method, s is null ? null : s.Push);
    public virtual async Task<Placed> Push(IAsyncStreamReader<Placed> requests, ServerCallContext ctx)
    {
        while (await requests.MoveNext(ctx.CancellationToken)) { }
        return Placed.Instance;
    }
}

sealed class PushClient(int port)
{
    private readonly Socket _s = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, SendBufferSize = 4 << 20 };
    private readonly object _gate = new();
    private long _conn = 65535, _stream = 65535;
    private int _maxFrame = 16384;
    private readonly byte[] _hdr = new byte[14];
    private readonly object _write = new();

    public void Open()
    {
        _s.Connect(IPAddress.Loopback, port);
        var preface = Encoding.ASCII.GetBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        Write(preface);
        WriteFrame(4, 0, 0, []); // SETTINGS
        new Thread(ReadLoop) { IsBackground = true }.Start();
        // HEADERS on stream 1
        var h = new List<byte> { 0x83, 0x86 };
        void Lit(int nameIndexPrefix, string value) { h.AddRange(NameIndex(nameIndexPrefix)); h.Add((byte)value.Length); h.AddRange(Encoding.ASCII.GetBytes(value)); }
        Lit(4, "/exp.Push/Push");
        Lit(1, $"127.0.0.1:{port}");
        Lit(31, "application/grpc");
        h.Add(0x00); h.Add(2); h.AddRange("te"u8.ToArray()); h.Add(8); h.AddRange("trailers"u8.ToArray());
        lock (_gate) { while (_maxFrame == 16384 && !_settled) Monitor.Wait(_gate, 1000); }
        WriteFrame(1, 0x4, 1, h.ToArray());
    }

    private bool _settled;

    private static byte[] NameIndex(int index) => index < 15 ? [(byte)index] : [0x0F, (byte)(index - 15)];

    public void Send(byte[] buffer, int offset, int length)
    {
        var frameLength = length + 5;
        lock (_gate)
        {
            while (_conn < frameLength || _stream < frameLength) Monitor.Wait(_gate);
            _conn -= frameLength; _stream -= frameLength;
        }
        lock (_write)
        {
            _hdr[0] = (byte)(frameLength >> 16); _hdr[1] = (byte)(frameLength >> 8); _hdr[2] = (byte)frameLength; _hdr[3] = 0; _hdr[4] = 0;
            BinaryPrimitives.WriteInt32BigEndian(_hdr.AsSpan(5), 1);
            _hdr[9] = 0; BinaryPrimitives.WriteInt32BigEndian(_hdr.AsSpan(10), length);
            var list = new List<ArraySegment<byte>> { new(_hdr, 0, 14), new(buffer, offset, length) };
            var sent = 0; var total = 14 + length;
            while (sent < total)
            {
                var n = _s.Send(list);
                sent += n;
                if (sent < total) { list = Remaining(buffer, offset, length, sent); }
            }
        }
    }

    private List<ArraySegment<byte>> Remaining(byte[] buffer, int offset, int length, int sent) =>
        sent < 14 ? [new(_hdr, sent, 14 - sent), new(buffer, offset, length)] : [new(buffer, offset + sent - 14, length - (sent - 14))];

    private void WriteFrame(byte type, byte flags, int stream, byte[] payload)
    {
        var f = new byte[9 + payload.Length];
        f[0] = (byte)(payload.Length >> 16); f[1] = (byte)(payload.Length >> 8); f[2] = (byte)payload.Length; f[3] = type; f[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(f.AsSpan(5), stream);
        payload.CopyTo(f, 9);
        Write(f);
    }

    private void Write(byte[] bytes) { lock (_write) { var sent = 0; while (sent < bytes.Length) sent += _s.Send(bytes, sent, bytes.Length - sent, SocketFlags.None); } }

    private void ReadExactly(Span<byte> into) { var got = 0; while (got < into.Length) { var n = _s.Receive(into[got..]); if (n == 0) throw new IOException("closed"); got += n; } }

    private void ReadLoop()
    {
        var head = new byte[9];
        while (true)
        {
            ReadExactly(head);
            var len = (head[0] << 16) | (head[1] << 8) | head[2]; var type = head[3]; var flags = head[4];
            var stream = BinaryPrimitives.ReadInt32BigEndian(head.AsSpan(5)) & 0x7FFFFFFF;
            var payload = new byte[len]; ReadExactly(payload);
            switch (type)
            {
                case 4 when (flags & 1) == 0:
                    lock (_gate)
                    {
                        for (var i = 0; i + 6 <= len; i += 6)
                        {
                            var id = BinaryPrimitives.ReadUInt16BigEndian(payload.AsSpan(i)); var v = BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(i + 2));
                            if (id == 4) { _stream += v - 65535; }
                            if (id == 5) { _maxFrame = (int)v; }
                        }
                        _settled = true; Monitor.PulseAll(_gate);
                    }
                    WriteFrame(4, 1, 0, []);
                    break;
                case 8:
                    lock (_gate) { var inc = BinaryPrimitives.ReadInt32BigEndian(payload) & 0x7FFFFFFF; if (stream == 0) _conn += inc; else _stream += inc; Monitor.PulseAll(_gate); }
                    break;
                case 6 when (flags & 1) == 0: WriteFrame(6, 1, 0, payload); break;
                case 7: Console.Error.WriteLine($"GOAWAY {Encoding.ASCII.GetString(payload, 8, len - 8)}"); return;
                case 3: Console.Error.WriteLine($"RST_STREAM {BinaryPrimitives.ReadUInt32BigEndian(payload)}"); return;
                default: break;
            }
        }
    }
}

sealed class LargePool : MemoryPool<byte>
{
    private const int Size = 256 << 10;
    private readonly ConcurrentStack<Block> _free = new();
    public override int MaxBufferSize => Size;
    public override IMemoryOwner<byte> Rent(int minBufferSize = -1) => _free.TryPop(out var b) ? b : new Block(this);
    protected override void Dispose(bool disposing) { }
    public sealed class Factory : Microsoft.AspNetCore.Connections.IMemoryPoolFactory<byte> { public MemoryPool<byte> Create(Microsoft.AspNetCore.Connections.MemoryPoolOptions? o = null) => new LargePool(); }
    private sealed class Block(LargePool pool) : IMemoryOwner<byte>
    {
        private readonly byte[] _a = GC.AllocateUninitializedArray<byte>(Size, pinned: true);
        public Memory<byte> Memory => MemoryMarshal.CreateFromPinnedArray(_a, 0, _a.Length);
        public void Dispose() => pool._free.Push(this);
    }
}
