using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MmCluster.Shared.Spec;

/// <summary>
/// Reads a run spec from a YAML or JSON file (JSON is read as YAML's flow style, so positions work for both), binds it
/// strictly and validates it. <see cref="Load"/> either returns a spec that can run or throws one
/// <see cref="RunSpecException"/> listing every problem.
/// </summary>
public static partial class RunSpecLoader
{
    public static RunSpec Load(string path, RunSpecValidator? validator = null)
    {
        var (spec, problems) = TryLoad(path, validator);
        return problems.Count == 0 ? spec! : throw new RunSpecException(problems);
    }

    /// <summary>The spec (null when the file could not be parsed at all) and every problem found.</summary>
    public static (RunSpec? Spec, IReadOnlyList<SpecProblem> Problems) TryLoad(string path, RunSpecValidator? validator = null)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            return (null, [new SpecProblem(path, "", null, null, $"run spec file not found (looked at {full})")]);
        }
        return Parse(File.ReadAllText(full), path, Path.GetDirectoryName(full)!, validator);
    }

    /// <summary>Parses spec text; <paramref name="file"/> names it in messages, <paramref name="baseDirectory"/> anchors relative paths.</summary>
    public static (RunSpec? Spec, IReadOnlyList<SpecProblem> Problems) Parse(
        string text, string? file, string baseDirectory, RunSpecValidator? validator = null)
    {
        var yaml = new YamlStream();
        try
        {
            yaml.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            var message = PositionPrefix().Replace(e.Message, "");
            return (null, [new SpecProblem(file, "", (int)e.Start.Line, (int)e.Start.Column, $"not valid YAML or JSON: {message}")]);
        }
        if (yaml.Documents.Count == 0)
        {
            return (null, [new SpecProblem(file, "", null, null, "the spec is empty")]);
        }
        var (spec, shapeProblems) = SpecBinder.Bind(yaml.Documents[0].RootNode, file, baseDirectory);
        var shapePaths = shapeProblems.Select(p => p.Path).ToHashSet(StringComparer.Ordinal);
        // A value that had the wrong type reads as missing; report it once, as the type problem.
        var checks = (validator ?? new RunSpecValidator()).Validate(spec).Where(p => !shapePaths.Contains(p.Path));
        var problems = shapeProblems.Concat(checks)
            .OrderBy(p => p.Line ?? int.MaxValue).ThenBy(p => p.Column ?? 0).ToList();
        return (spec, problems);
    }

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\):\s*")]
    private static partial Regex PositionPrefix();
}
