using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using MmCluster.Collectives.Ring;
using Xunit;

namespace MmCluster.Collectives.Tests.Ring;

/// <summary>
/// The lanes' own HTTP/2 client against a scripted peer on a real loopback socket: what a misbehaving or closing sender
/// looks like to the receiver (the happy paths and Kestrel's own refusals run through every GrpcCollectiveGroup spec).
/// </summary>
public sealed class Http2PullCallSpecs
{
    [Fact]
    public async Task Should_fail_naming_the_peer_and_its_reason_when_the_sender_closes_the_connection_with_goaway()
    {
        var error = await RunAgainstAsync(
            Frame(0x4, 0, 0, []),
            Frame(0x7, 0, 0, [.. BigEndian(0), .. BigEndian(2), .. "shutting down"u8.ToArray()]));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Contains("GOAWAY, HTTP/2 error code 2: shutting down", error.Status.Detail);
    }

    [Fact]
    public async Task Should_fail_with_a_clear_error_instead_of_misreading_a_huffman_coded_header()
    {
        // :status 200 (static index 8), then a literal "x" whose value claims Huffman coding (H bit set).
        var error = await RunAgainstAsync(
            Frame(0x4, 0, 0, []),
            Frame(0x1, 0x4, 1, [0x88, 0x00, 0x01, (byte)'x', 0x81, 0xFF]));

        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.Contains("Huffman-coded header", error.Status.Detail);
    }

    [Fact]
    public async Task Should_report_the_senders_grpc_status_and_decoded_message_from_its_trailers()
    {
        // Response headers (:status 200), then trailers grpc-status 7 and a percent-encoded grpc-message.
        var error = await RunAgainstAsync(
            Frame(0x4, 0, 0, []),
            Frame(0x1, 0x4, 1, [0x88]),
            Frame(0x1, 0x4 | 0x1, 1, [.. Literal("grpc-status", "7"), .. Literal("grpc-message", "no%20entry")]));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Equal("no entry", error.Status.Detail);
    }

    [Fact]
    public async Task Should_answer_pings_and_deliver_a_message_split_over_padded_data_frames()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var call = new Http2PullCall($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}", [], TimeSpan.FromSeconds(5));
        using var peer = await listener.AcceptSocketAsync();
        await ReadPrefaceAsync(peer);
        // ChunkFrame { step = 3 (field 6), payload = 4 bytes (field 10) } in a gRPC message, cut over two DATA frames, the
        // second one padded, with a PING in between.
        byte[] message = [0x30, 0x03, 0x52, 0x04, 1, 2, 3, 4];
        byte[] grpc = [0, .. BigEndian(message.Length), .. message];
        await peer.SendAsync(Concat(
            Frame(0x4, 0, 0, []),
            Frame(0x1, 0x4, 1, [0x88]),
            Frame(0x0, 0, 1, grpc[..6]),
            Frame(0x6, 0, 0, [9, 9, 9, 9, 9, 9, 9, 9]),
            Frame(0x0, 0x8, 1, [2, .. grpc[6..], 0, 0])));

        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var chunk = call.ResponseStream.Current;
        Assert.Equal(3, chunk.Step);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, chunk.Payload.ToArray());
        chunk.Release();
        var pong = await ReadFrameOfTypeAsync(peer, 0x6);
        Assert.Equal(0x1, pong.Flags); // ACK
        Assert.Equal(new byte[] { 9, 9, 9, 9, 9, 9, 9, 9 }, pong.Payload);
    }

    private static async Task<RpcException> RunAgainstAsync(params byte[][] frames)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var call = new Http2PullCall($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}", [], TimeSpan.FromSeconds(5));
        using var peer = await listener.AcceptSocketAsync();
        await ReadPrefaceAsync(peer);
        await peer.SendAsync(Concat(frames));
        return await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None)).WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static async Task ReadPrefaceAsync(Socket peer)
    {
        var preface = new byte[24];
        for (var read = 0; read < preface.Length;)
        {
            read += await peer.ReceiveAsync(preface.AsMemory(read));
        }
        Assert.Equal("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray(), preface);
    }

    private static async Task<(byte Flags, byte[] Payload)> ReadFrameOfTypeAsync(Socket peer, byte type)
    {
        while (true)
        {
            var header = await ReadExactlyAsync(peer, 9);
            var payload = await ReadExactlyAsync(peer, header[0] << 16 | header[1] << 8 | header[2]);
            if (header[3] == type)
            {
                return (header[4], payload);
            }
        }
    }

    private static async Task<byte[]> ReadExactlyAsync(Socket peer, int count)
    {
        var buffer = new byte[count];
        for (var read = 0; read < count;)
        {
            var n = await peer.ReceiveAsync(buffer.AsMemory(read)).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            read += n > 0 ? n : throw new IOException("the client closed the connection");
        }
        return buffer;
    }

    private static byte[] Frame(byte type, byte flags, int stream, byte[] payload)
    {
        return [(byte)(payload.Length >> 16), (byte)(payload.Length >> 8), (byte)payload.Length, type, flags, .. BigEndian(stream), .. payload];
    }

    private static byte[] Literal(string name, string value)
    {
        return [0x00, (byte)name.Length, .. System.Text.Encoding.ASCII.GetBytes(name), (byte)value.Length, .. System.Text.Encoding.ASCII.GetBytes(value)];
    }

    private static byte[] BigEndian(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        return bytes;
    }

    private static byte[] Concat(params byte[][] parts)
    {
        return parts.SelectMany(p => p).ToArray();
    }
}
