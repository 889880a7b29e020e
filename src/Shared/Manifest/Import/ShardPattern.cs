using System.IO.Enumeration;
using System.Text.RegularExpressions;

namespace MmCluster.Shared.Manifest.Import;

/// <summary>
/// Expands the shard patterns img2dataset and webdataset users write: brace ranges (<c>{00000..00099}</c>, zero-padded to
/// the width of the first bound), brace lists (<c>{a,b}</c>), and <c>*</c>/<c>?</c> globs in the file name (not in folders).
/// A pattern that names no existing file is an error naming the pattern, so a typo never imports nothing silently.
/// </summary>
public static partial class ShardPattern
{
    /// <summary>Every file the patterns name, in pattern order, each once; throws <see cref="ManifestException"/> for a pattern that matches nothing.</summary>
    public static IReadOnlyList<string> Expand(IEnumerable<string> patterns)
    {
        var files = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pattern in patterns)
        {
            var names = ExpandBraces(pattern).ToList();
            var matched = names.SelectMany(Glob).ToList();
            if (matched.Count == 0)
            {
                var tried = names.Count == 1 ? "" : $" (none of its {names.Count:N0} names exists, e.g. {names[0]})";
                throw new ManifestException($"the shard pattern matches no file{tried}", pattern);
            }
            files.AddRange(matched.Select(Path.GetFullPath).Where(seen.Add));
        }
        return files;
    }

    /// <summary>The brace expansion of <paramref name="pattern"/> (leftmost brace first, as bash does), without touching the disk.</summary>
    public static IEnumerable<string> ExpandBraces(string pattern)
    {
        var match = Brace().Match(pattern);
        if (!match.Success)
        {
            return [pattern];
        }
        var body = match.Groups[1].Value;
        var (head, tail) = (pattern[..match.Index], pattern[(match.Index + match.Length)..]);
        return Alternatives(body, pattern).SelectMany(item => ExpandBraces(head + item + tail));
    }

    private static IEnumerable<string> Alternatives(string body, string pattern)
    {
        var range = Range().Match(body);
        if (!range.Success)
        {
            return body.Split(',');
        }
        var (from, to) = (long.Parse(range.Groups[1].Value), long.Parse(range.Groups[2].Value));
        var width = range.Groups[1].Value.Length;
        if (to < from || to - from >= 10_000_000)
        {
            throw new ManifestException($"brace range {{{body}}} must count up, by fewer than 10,000,000", pattern);
        }
        return Enumerable.Range(0, checked((int)(to - from + 1))).Select(i => (from + i).ToString().PadLeft(width, '0'));
    }

    private static IEnumerable<string> Glob(string path)
    {
        var name = Path.GetFileName(path);
        if (name.IndexOfAny(['*', '?']) < 0)
        {
            return File.Exists(path) ? [path] : [];
        }
        var folder = Path.GetDirectoryName(path) is { Length: > 0 } d ? d : ".";
        return Directory.Exists(folder)
            ? Directory.EnumerateFiles(folder).Where(f => FileSystemName.MatchesSimpleExpression(name, Path.GetFileName(f), ignoreCase: false)).Order(StringComparer.Ordinal)
            : [];
    }

    [GeneratedRegex(@"\{([^{}]*(?:,|\.\.)[^{}]*)\}")]
    private static partial Regex Brace();

    [GeneratedRegex(@"^(\d+)\.\.(\d+)$")]
    private static partial Regex Range();
}
