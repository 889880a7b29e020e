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

    /// <summary>FNV-1a's 64-bit offset basis: the hash of no characters.</summary>
    public const ulong FnvOffsetBasis = 14695981039346656037UL;

    /// <summary>
    /// FNV-1a (64-bit) over <paramref name="text"/>'s UTF-16 code units, continuing from <paramref name="hash"/>: a
    /// stable hash of a row key (the same in every process, unlike <see cref="string.GetHashCode()"/>).
    /// </summary>
    public static ulong Fnv1a(string text, ulong hash = FnvOffsetBasis)
    {
        foreach (var c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }
        return hash;
    }

    /// <summary>A uniform double in [0, 1) from the top 53 of 64 random bits.</summary>
    public static double ToUnit(ulong bits) => (bits >> 11) * (1.0 / (1UL << 53));

    /// <summary>The SplitMix64 finaliser: a stateless 64-bit hash, also used to derive per-row and per-epoch seeds.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
