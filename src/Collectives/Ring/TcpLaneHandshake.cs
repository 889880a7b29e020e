using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace MmCluster.Collectives.Ring;

/// <summary>
/// The first bytes on a bulk TCP lane (<see cref="TcpLane"/>): the receiver's hello and the sender's answer, which prove to
/// each other that both hold the run's bearer token without sending it. Both ends already exchanged a nonce on the lane's
/// gRPC stream (the receiver's in <c>mmc-tcp-nonce</c>, the sender's in its <c>mmc-tcp</c> answer, both over the call that
/// the token authenticated); the hello names the run, generation and lane and carries HMAC-SHA256(token, both nonces and
/// those fields); the answer carries a second HMAC over the hello, under another label, so neither message can be
/// replayed as the other or on another lane (every nonce is fresh per lane). Macs are compared in constant time.
/// <para>Hello: "MMCTCP01", sender nonce (16), receiver nonce (16), generation (i64), receiver rank (i32), direction (u8),
/// lane (u8), run id length (u16) and UTF-8 bytes, mac (32); integers little-endian. Answer: 0 and a mac (32), or 1, a
/// length (u16) and a UTF-8 reason.</para>
/// </summary>
internal static class TcpLaneHandshake
{
    public const int NonceBytes = 16;
    public const int MacBytes = 32;
    public const int MaxRunIdBytes = 1024;

    /// <summary>Magic, two nonces, generation, rank, direction, lane and the run id's length: what precedes the run id.</summary>
    public const int FixedBytes = 8 + 2 * NonceBytes + 8 + 4 + 1 + 1 + 2;

    private static readonly byte[] Magic = "MMCTCP01"u8.ToArray();
    private static readonly byte[] HelloLabel = "mmcluster tcp lane hello v1\n"u8.ToArray();
    private static readonly byte[] AnswerLabel = "mmcluster tcp lane answer v1\n"u8.ToArray();

    /// <summary>The claims of a hello: who opens which lane of which run and generation, under which pair of nonces.</summary>
    public sealed record Hello(byte[] SenderNonce, byte[] ReceiverNonce, string RunId, long Generation, int ReceiverRank, RingDirection Direction, int Lane);

    /// <summary>The hello the receiver sends, with its mac.</summary>
    public static byte[] WriteHello(Hello hello, string token)
    {
        var runId = Encoding.UTF8.GetBytes(hello.RunId);
        if (runId.Length > MaxRunIdBytes)
        {
            throw new ArgumentException($"run id of {runId.Length} bytes is longer than the TCP lane's {MaxRunIdBytes}");
        }
        var message = new byte[FixedBytes + runId.Length + MacBytes];
        var span = message.AsSpan();
        Magic.CopyTo(span);
        hello.SenderNonce.AsSpan(0, NonceBytes).CopyTo(span[8..]);
        hello.ReceiverNonce.AsSpan(0, NonceBytes).CopyTo(span[(8 + NonceBytes)..]);
        var rest = span[(8 + 2 * NonceBytes)..];
        BinaryPrimitives.WriteInt64LittleEndian(rest, hello.Generation);
        BinaryPrimitives.WriteInt32LittleEndian(rest[8..], hello.ReceiverRank);
        rest[12] = (byte)hello.Direction;
        rest[13] = (byte)hello.Lane;
        BinaryPrimitives.WriteUInt16LittleEndian(rest[14..], (ushort)runId.Length);
        runId.CopyTo(span[FixedBytes..]);
        var signed = span[..^MacBytes];
        Mac(token, HelloLabel, signed, span[^MacBytes..]);
        return message;
    }

    /// <summary>True when <paramref name="fixedPart"/> (the first <see cref="FixedBytes"/> of a hello) starts with the magic.</summary>
    public static bool HasMagic(ReadOnlySpan<byte> fixedPart) => fixedPart[..8].SequenceEqual(Magic);

    /// <summary>The run id's length a hello announces in its fixed part; the rest of the hello is that many bytes plus the mac.</summary>
    public static int RunIdLength(ReadOnlySpan<byte> fixedPart) => BinaryPrimitives.ReadUInt16LittleEndian(fixedPart[(FixedBytes - 2)..]);

    /// <summary>The claims of a whole hello, read without checking its mac (see <see cref="VerifyHello"/>).</summary>
    public static Hello ReadHello(ReadOnlySpan<byte> message)
    {
        var rest = message[(8 + 2 * NonceBytes)..];
        return new Hello(message.Slice(8, NonceBytes).ToArray(), message.Slice(8 + NonceBytes, NonceBytes).ToArray(),
            Encoding.UTF8.GetString(message[FixedBytes..^MacBytes]), BinaryPrimitives.ReadInt64LittleEndian(rest),
            BinaryPrimitives.ReadInt32LittleEndian(rest[8..]), (RingDirection)rest[12], rest[13]);
    }

    /// <summary>True when the hello's mac is the one <paramref name="token"/> gives its bytes (constant time).</summary>
    public static bool VerifyHello(ReadOnlySpan<byte> message, string token)
    {
        Span<byte> expected = stackalloc byte[MacBytes];
        Mac(token, HelloLabel, message[..^MacBytes], expected);
        return CryptographicOperations.FixedTimeEquals(expected, message[^MacBytes..]);
    }

    /// <summary>The sender's acceptance: 0 and its mac over the whole hello.</summary>
    public static byte[] WriteAccepted(ReadOnlySpan<byte> hello, string token)
    {
        var answer = new byte[1 + MacBytes];
        Mac(token, AnswerLabel, hello, answer.AsSpan(1));
        return answer;
    }

    /// <summary>True when <paramref name="mac"/> (an acceptance's mac) proves the sender holds <paramref name="token"/> (constant time).</summary>
    public static bool VerifyAccepted(ReadOnlySpan<byte> hello, ReadOnlySpan<byte> mac, string token)
    {
        Span<byte> expected = stackalloc byte[MacBytes];
        Mac(token, AnswerLabel, hello, expected);
        return CryptographicOperations.FixedTimeEquals(expected, mac);
    }

    /// <summary>The sender's refusal: 1 and the reason (printable ASCII, at most 512 bytes).</summary>
    public static byte[] WriteRefused(string reason)
    {
        var text = Encoding.ASCII.GetBytes(new string(reason.Take(512).Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray()));
        var answer = new byte[3 + text.Length];
        answer[0] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(answer.AsSpan(1), (ushort)text.Length);
        text.CopyTo(answer, 3);
        return answer;
    }

    private static void Mac(string token, byte[] label, ReadOnlySpan<byte> data, Span<byte> mac)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(token));
        hmac.AppendData(label);
        hmac.AppendData(data);
        hmac.GetHashAndReset(mac);
    }
}
