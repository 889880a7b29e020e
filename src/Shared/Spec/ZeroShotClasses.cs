namespace MmCluster.Shared.Spec;

/// <summary>
/// The class names a stage scores zero-shot against (the name of label i is entry i), from the run spec's
/// <c>eval.zero_shot.classes</c> or <c>eval.zero_shot.classes_file</c> (one name per line, relative to the spec).
/// <see cref="Check"/> holds the rules the spec validator reports by position; <see cref="Resolve"/> gives the list the
/// coordinator hands to the stage.
/// </summary>
public static class ZeroShotClasses
{
    /// <summary>Fewer classes leave nothing to choose between: top-1 over one class is always right.</summary>
    public const int MinClasses = 2;

    /// <summary>
    /// The names of <paramref name="eval"/>, the inline list or the file's (read through <paramref name="readLines"/>,
    /// default <see cref="File.ReadAllLines(string)"/>); null when the stage names none.
    /// </summary>
    public static IReadOnlyList<string>? Resolve(RunSpec spec, EvalSpec eval, Func<string, string[]>? readLines = null)
    {
        if (eval.ZeroShotClasses is { } inline)
        {
            return inline.Select(n => n.Trim()).ToList();
        }
        return eval.ZeroShotClassesFile is { } file ? FromLines((readLines ?? File.ReadAllLines)(spec.ResolvePath(file))) : null;
    }

    /// <summary>A class file's names: one per line, trimmed; blank lines at the end (a final newline) are not names.</summary>
    public static IReadOnlyList<string> FromLines(IReadOnlyList<string> lines)
    {
        var count = lines.Count;
        while (count > 0 && string.IsNullOrWhiteSpace(lines[count - 1]))
        {
            count--;
        }
        return lines.Take(count).Select(l => l.Trim()).ToList();
    }

    /// <summary>
    /// The problems of a class list, each with the index of the entry it concerns (null: the list as a whole): fewer
    /// than <see cref="MinClasses"/> names, a blank name, a name that repeats an earlier one (compared without case, as
    /// CLIP's tokenizer lower-cases the prompts, so the two would be one class). <paramref name="entry"/> says how a
    /// message names entry i (<c>classes[3]</c>, <c>line 4</c>).
    /// </summary>
    public static IEnumerable<(int? Index, string Message)> Check(IReadOnlyList<string> names, Func<int, string> entry)
    {
        if (names.Count < MinClasses)
        {
            yield return (null, $"names {names.Count} class{(names.Count == 1 ? "" : "es")}; zero-shot picks among the classes, so give at least {MinClasses}");
        }
        var seen = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < names.Count; i++)
        {
            var name = names[i].Trim();
            if (name.Length == 0)
            {
                yield return (i, "empty class name (every label up to the last needs one: the name of label i is entry i)");
            }
            else if (!seen.TryAdd(name, i))
            {
                yield return (i, $"'{name}' repeats {entry(seen[name])} (class names must be distinct, ignoring case)");
            }
        }
    }
}
