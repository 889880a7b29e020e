using System.Globalization;
using Grpc.Core;
using MmCluster.Shared.Security;

namespace MmCluster.Collectives.Ring;

/// <summary>The metadata that opens one edge lane (see protos/collective.proto); parsed once per stream by the receiver.</summary>
internal sealed record CollectiveHeaders(string RunId, long Generation, int SourceRank, RingDirection Direction, int Lane, int Lanes, TimeSpan Wait,
    SharedMemoryOffer? SharedMemory = null, byte[]? TcpNonce = null)
{
    public const string RunIdKey = "mmc-run-id";
    public const string GenerationKey = "mmc-generation";
    public const string SourceRankKey = "mmc-source-rank";
    public const string DirectionKey = "mmc-direction";
    public const string LaneKey = "mmc-lane";
    public const string LanesKey = "mmc-lanes";
    public const string WaitKey = "mmc-wait-ms";
    public const string ShmPathKey = "mmc-shm-path";
    public const string ShmNonceKey = "mmc-shm-nonce";
    public const string ShmSlotsKey = "mmc-shm-slots";
    public const string ShmSlotBytesKey = "mmc-shm-slot-bytes";

    /// <summary>The receiver asks for a bulk TCP lane: its nonce (16 bytes, hex) for the handshake (<see cref="TcpLaneHandshake"/>).</summary>
    public const string TcpNonceKey = "mmc-tcp-nonce";

    /// <summary>The sender's response header answering a TCP lane request: "port=P nonce=hex" or "refused: reason".</summary>
    public const string TcpAnswerKey = "mmc-tcp";

    /// <summary>The sender's response header answering a shared-memory offer: "accepted" or "refused: reason".</summary>
    public const string ShmAnswerKey = "mmc-shm";
    public const string ShmAccepted = "accepted";

    public Metadata ToMetadata(string bearerToken)
    {
        var metadata = new Metadata
        {
            { BearerToken.HeaderKey, BearerToken.HeaderValue(bearerToken) },
            { RunIdKey, RunId },
            { GenerationKey, Generation.ToString(CultureInfo.InvariantCulture) },
            { SourceRankKey, SourceRank.ToString(CultureInfo.InvariantCulture) },
            { DirectionKey, Direction.ToString() },
            { LaneKey, Lane.ToString(CultureInfo.InvariantCulture) },
            { LanesKey, Lanes.ToString(CultureInfo.InvariantCulture) },
            { WaitKey, ((long)Wait.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) },
        };
        if (SharedMemory is { } offer)
        {
            metadata.Add(ShmPathKey, offer.Path);
            metadata.Add(ShmNonceKey, offer.NonceHex);
            metadata.Add(ShmSlotsKey, offer.Slots.ToString(CultureInfo.InvariantCulture));
            metadata.Add(ShmSlotBytesKey, offer.SlotBytes.ToString(CultureInfo.InvariantCulture));
        }
        if (TcpNonce is { } nonce)
        {
            metadata.Add(TcpNonceKey, Convert.ToHexStringLower(nonce));
        }
        return metadata;
    }

    /// <summary>Throws <see cref="RpcException"/> (InvalidArgument) naming the missing or malformed header.</summary>
    public static CollectiveHeaders Parse(Metadata headers)
    {
        string Get(string key)
        {
            return headers.GetValue(key) ?? throw new RpcException(new Status(StatusCode.InvalidArgument, $"collective stream without header '{key}'"));
        }

        long GetLong(string key)
        {
            var text = Get(key);
            return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
                ? value
                : throw new RpcException(new Status(StatusCode.InvalidArgument, $"collective header '{key}' = '{text}' is not an integer"));
        }

        var directionText = Get(DirectionKey);
        if (!Enum.TryParse<RingDirection>(directionText, out var direction))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"collective header '{DirectionKey}' = '{directionText}' is not Forward or Backward"));
        }
        var offer = headers.GetValue(ShmPathKey) is { } path
            ? new SharedMemoryOffer(path, Get(ShmNonceKey), (int)Math.Clamp(GetLong(ShmSlotsKey), 0, 256), (int)Math.Clamp(GetLong(ShmSlotBytesKey), 0, 1 << 30))
            : null;
        byte[]? tcpNonce = null;
        if (headers.GetValue(TcpNonceKey) is { } nonceHex)
        {
            tcpNonce = nonceHex.Length == 2 * TcpLaneHandshake.NonceBytes && nonceHex.All(char.IsAsciiHexDigit)
                ? Convert.FromHexString(nonceHex)
                : throw new RpcException(new Status(StatusCode.InvalidArgument, $"collective header '{TcpNonceKey}' is not {TcpLaneHandshake.NonceBytes} bytes of hex"));
        }
        return new CollectiveHeaders(Get(RunIdKey), GetLong(GenerationKey), (int)GetLong(SourceRankKey), direction, (int)GetLong(LaneKey), (int)GetLong(LanesKey),
            TimeSpan.FromMilliseconds(Math.Clamp(GetLong(WaitKey), 0, 600_000)), offer, tcpNonce);
    }
}

/// <summary>A receiver's offer of a same-host ring for one lane (see <see cref="SharedMemoryRing"/>).</summary>
internal sealed record SharedMemoryOffer(string Path, string NonceHex, int Slots, int SlotBytes)
{
    public static SharedMemoryOffer Of(SharedMemoryRing ring)
    {
        return new SharedMemoryOffer(ring.Path, Convert.ToHexStringLower(ring.Nonce), ring.Slots, ring.SlotBytes);
    }
}

/// <summary>Which way along the ring a stream carries data: Forward = rank r to r+1, Backward = r to r-1 (mod W).</summary>
internal enum RingDirection
{
    Forward = 0,
    Backward = 1,
}

/// <summary>A sender's acceptance of a TCP lane request (<see cref="CollectiveHeaders.TcpAnswerKey"/>): the port of its listener and its nonce.</summary>
internal sealed record TcpLaneAnswer(int Port, byte[] SenderNonce)
{
    public override string ToString() => $"port={Port} nonce={Convert.ToHexStringLower(SenderNonce)}";

    /// <summary>The acceptance in <paramref name="text"/>, or null when it is a refusal or malformed.</summary>
    public static TcpLaneAnswer? TryParse(string? text)
    {
        var parts = text?.Split(' ') ?? [];
        if (parts.Length != 2 || !parts[0].StartsWith("port=", StringComparison.Ordinal) || !parts[1].StartsWith("nonce=", StringComparison.Ordinal)
            || !int.TryParse(parts[0]["port=".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            return null;
        }
        var hex = parts[1]["nonce=".Length..];
        return hex.Length == 2 * TcpLaneHandshake.NonceBytes && hex.All(char.IsAsciiHexDigit) ? new TcpLaneAnswer(port, Convert.FromHexString(hex)) : null;
    }
}
