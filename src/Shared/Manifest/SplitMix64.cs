namespace MmCluster.Shared.Manifest;

/// <summary>
/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fully specified generator, so a shuffle seeded from (seed, epoch) is the
/// same in every process and on every .NET version (unlike <see cref="System.Random"/> or <see cref="HashCode"/>).
/// </summary>
public struct SplitMix64
{
    private ulong _state;

    public SplitMix64(ulong seed) => _state = seed;

    public ulong Next()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    /// <summary>Uniform integer in [0, bound), without modulo bias (Lemire's multiply-shift with rejection).</summary>
    public int NextInt(int bound)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bound);
        var b = (ulong)bound;
        var threshold = (0UL - b) % b;
        while (true)
        {
            var product = Math.BigMul(Next(), b, out var low);
            if (low >= threshold)
            {
                return (int)product;
            }
        }
    }

    /// <summary>The SplitMix64 finaliser: a stateless 64-bit hash, also used to derive per-row and per-epoch seeds.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
