using System.Globalization;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// The memory lines of a Linux <c>/proc/[pid]/status</c> (proc(5)): <c>VmRSS</c>, the resident set size now, and
/// <c>VmHWM</c>, its peak ("high water mark"), each written as <c>Name:   12345 kB</c>. Pure parsing: a line that is
/// missing or not a number of kB leaves its value null and says why in <see cref="Problems"/>; nothing throws.
/// </summary>
public sealed record ProcStatusMemory(long? ResidentBytes, long? PeakResidentBytes, IReadOnlyList<string> Problems)
{
    /// <param name="source">What the text is (a path), named in the problems.</param>
    public static ProcStatusMemory Parse(string text, string source)
    {
        var problems = new List<string>();
        long? Field(string name)
        {
            var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.Ordinal));
            if (line is null)
            {
                problems.Add($"{source}: no {name} line");
                return null;
            }
            var parts = line[(name.Length + 1)..].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts is [var number, "kB"] && long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var kib) && kib <= long.MaxValue / 1024)
            {
                return kib * 1024;
            }
            problems.Add($"{source}: {name} is '{line.Trim()}', not a number of kB");
            return null;
        }
        var resident = Field("VmRSS");
        var peak = Field("VmHWM");
        return new ProcStatusMemory(resident, peak, problems);
    }
}
