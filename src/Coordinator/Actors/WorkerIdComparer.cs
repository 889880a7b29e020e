namespace MmCluster.Coordinator.Actors;

/// <summary>
/// Orders worker ids so that ranks are deterministic and follow the numbers people give workers:
/// <c>worker-2</c> before <c>worker-10</c> (runs of digits compare by value, the rest ordinally).
/// </summary>
public sealed class WorkerIdComparer : IComparer<string>
{
    public static readonly WorkerIdComparer Instance = new();

    private WorkerIdComparer() { }

    public int Compare(string? x, string? y)
    {
        if (x is null || y is null)
        {
            return x is null ? (y is null ? 0 : -1) : 1;
        }
        int i = 0, j = 0;
        while (i < x.Length && j < y.Length)
        {
            if (char.IsAsciiDigit(x[i]) && char.IsAsciiDigit(y[j]))
            {
                var (a, nextI) = DigitRun(x, i);
                var (b, nextJ) = DigitRun(y, j);
                var byValue = a.TrimStart('0').Length.CompareTo(b.TrimStart('0').Length);
                byValue = byValue != 0 ? byValue : string.CompareOrdinal(a.TrimStart('0'), b.TrimStart('0'));
                if (byValue != 0)
                {
                    return byValue;
                }
                (i, j) = (nextI, nextJ);
                continue;
            }
            if (x[i] != y[j])
            {
                return x[i].CompareTo(y[j]);
            }
            i++;
            j++;
        }
        var byLength = (x.Length - i).CompareTo(y.Length - j);
        return byLength != 0 ? byLength : string.CompareOrdinal(x, y);
    }

    private static (string Run, int Next) DigitRun(string s, int start)
    {
        var end = start;
        while (end < s.Length && char.IsAsciiDigit(s[end]))
        {
            end++;
        }
        return (s[start..end], end);
    }
}
