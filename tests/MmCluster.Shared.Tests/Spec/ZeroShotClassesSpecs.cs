using MmCluster.Shared.Spec;
using Xunit;

namespace MmCluster.Shared.Tests.Spec;

/// <summary>A stage names its zero-shot classes: <c>eval.zero_shot.classes</c> or <c>classes_file</c>, checked with positions.</summary>
public sealed class ZeroShotClassesSpecs : IDisposable
{
    private const string Spec = """
        name: photos
        manifest: { path: data }
        stages:
          - name: clip
            kind: clip
            model: { preset: clip-tiny }
            batch_size: 8
            steps: 10
            eval:
              zero_shot:
                ZERO_SHOT
        """;

    private readonly SpecFolder _folder = new("data", "sets");

    public void Dispose() => _folder.Dispose();

    private (RunSpec? Spec, IReadOnlyList<SpecProblem> Problems) Parse(string zeroShot) =>
        _folder.Parse(Spec.Replace("ZERO_SHOT", zeroShot.Replace("\n", "\n        ")));

    private SpecProblem Single(string zeroShot)
    {
        var problems = Parse(zeroShot).Problems;
        Assert.True(problems.Count == 1, "expected one problem, got: " + string.Join(" | ", problems));
        return problems[0];
    }

    [Fact]
    public void Should_bind_the_inline_class_list_in_label_order_when_the_stage_names_classes()
    {
        var (spec, problems) = Parse("classes: [Aqua, Dune, Storm]\ntemplates: [\"a picture of {}.\"]");

        Assert.Empty(problems);
        var eval = spec!.Stages[0].Eval;
        Assert.Equal(["Aqua", "Dune", "Storm"], eval.ZeroShotClasses);
        Assert.Null(eval.ZeroShotClassesFile);
        Assert.Equal(["Aqua", "Dune", "Storm"], ZeroShotClasses.Resolve(spec, eval));
    }

    [Fact]
    public void Should_read_one_name_per_line_relative_to_the_spec_when_the_stage_names_a_classes_file()
    {
        File.WriteAllText(_folder.Combine("sets", "classes.txt"), "Aqua\r\n  Dune \nStorm\n\n");

        var (spec, problems) = Parse("classes_file: sets/classes.txt");

        Assert.Empty(problems);
        var eval = spec!.Stages[0].Eval;
        Assert.Equal(("sets/classes.txt", (IReadOnlyList<string>?)null), (eval.ZeroShotClassesFile, eval.ZeroShotClasses));
        Assert.Equal(["Aqua", "Dune", "Storm"], ZeroShotClasses.Resolve(spec, eval));
    }

    [Fact]
    public void Should_name_no_classes_when_the_stage_gives_neither()
    {
        var (spec, problems) = Parse("templates: [\"a picture of {}.\"]");

        Assert.Empty(problems);
        Assert.Null(ZeroShotClasses.Resolve(spec!, spec!.Stages[0].Eval));
    }

    [Theory]
    [InlineData("classes: []", "stages[0].eval.zero_shot.classes", 11, "names 0 classes; zero-shot picks among the classes, so give at least 2")]
    [InlineData("classes: [Aqua]", "stages[0].eval.zero_shot.classes", 11, "names 1 class; zero-shot picks")]
    [InlineData("classes: [Aqua, Dune, aqua]", "stages[0].eval.zero_shot.classes[2]", 11, "'aqua' repeats classes[0] (class names must be distinct, ignoring case)")]
    [InlineData("classes:\n  - Aqua\n  - \"  \"\n  - Dune", "stages[0].eval.zero_shot.classes[1]", 13, "empty class name")]
    [InlineData("classes: [Aqua, Dune]\nclasses_file: sets/classes.txt", "stages[0].eval.zero_shot.classes_file", 12, "give 'classes' or 'classes_file', not both")]
    [InlineData("classes_file: sets/none.txt", "stages[0].eval.zero_shot.classes_file", 11, "class file 'sets/none.txt' does not exist (looked at ")]
    public void Should_report_the_problem_at_its_position_when_the_classes_are_not_a_usable_list(string zeroShot, string path, int line, string message)
    {
        File.WriteAllText(_folder.Combine("sets", "classes.txt"), "Aqua\nDune\n");

        var problem = Single(zeroShot);

        Assert.Equal((path, line), (problem.Path, problem.Line!.Value));
        Assert.Contains(message, problem.Message);
    }

    [Theory]
    [InlineData("Aqua\nDune\nStorm\nDune\n", "sets/classes.txt: line 4: 'Dune' repeats line 2 (class names must be distinct, ignoring case)")]
    [InlineData("Aqua\n\nDune\n", "sets/classes.txt: line 2: empty class name")]
    [InlineData("\n\n", "sets/classes.txt: names 0 classes")]
    public void Should_name_the_file_and_line_when_a_classes_file_has_a_bad_name(string text, string message)
    {
        File.WriteAllText(_folder.Combine("sets", "classes.txt"), text);

        var problem = Single("classes_file: sets/classes.txt");

        Assert.Equal(("stages[0].eval.zero_shot.classes_file", 11), (problem.Path, problem.Line!.Value));
        Assert.Contains(message, problem.Message);
        Assert.StartsWith("run.yaml:11:", problem.ToString());
    }
}
