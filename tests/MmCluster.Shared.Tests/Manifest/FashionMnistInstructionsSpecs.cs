using System.Text.RegularExpressions;
using MmCluster.Shared.Manifest;
using MmCluster.Shared.Manifest.Import;
using Xunit;

namespace MmCluster.Shared.Tests.Manifest;

public sealed class FashionMnistInstructionsSpecs
{
    private const int Rows = 3000;

    // Written out by hand, not taken from the code under test.
    private static readonly string[] Footwear = ["sandal", "sneaker", "ankle boot"];
    private static readonly string[] UpperBody = ["t-shirt", "pullover", "coat", "shirt"];
    private static readonly Dictionary<string, string> CategoryAnswers = new()
    {
        ["t-shirt"] = "a t-shirt", ["trouser"] = "a trouser", ["pullover"] = "a pullover", ["dress"] = "a dress", ["coat"] = "a coat",
        ["sandal"] = "a sandal", ["shirt"] = "a shirt", ["sneaker"] = "a sneaker", ["bag"] = "a bag", ["ankle boot"] = "an ankle boot",
    };

    [Fact]
    public void Should_keep_training_and_held_out_phrasings_disjoint_and_both_present_for_every_kind_and_attribute()
    {
        foreach (var kind in InstructionPhrasings.Kinds)
        {
            var training = InstructionPhrasings.For(kind, heldOut: false).Select(p => p.Template).ToList();
            var heldOut = InstructionPhrasings.For(kind, heldOut: true).Select(p => p.Template).ToList();
            Assert.True(training.Count >= 2, kind);
            Assert.NotEmpty(heldOut);
            Assert.Empty(training.Intersect(heldOut));
            Assert.Equal(training.Count + heldOut.Count, training.Concat(heldOut).Distinct().Count());
        }
        var attributes = InstructionPhrasings.All.Where(p => p.Kind == InstructionPhrasings.YesNo).GroupBy(p => p.Attribute);
        Assert.All(attributes, g => Assert.Equal([false, true], g.Select(p => p.HeldOut).Distinct().Order()));
        Assert.Equal(ClassNames.FashionMnist, FashionMnistInstructions.Attributes.Select(a => a.ClassName));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Should_ask_only_phrasings_of_its_set_and_answer_every_question_right_for_the_label(bool heldOut)
    {
        var yes = 0;
        var yesNo = 0;
        var rightOptionAt = new int[3];
        for (var row = 0; row < Rows; row++)
        {
            var label = (int)(row * 7 % 10);
            var className = ClassNames.FashionMnist[label];
            var conversation = FashionMnistInstructions.ForRow(row, label, heldOut);

            Assert.InRange(conversation.Exchanges.Count, 2, 3);
            Assert.Equal(conversation.Exchanges.Count, conversation.Exchanges.Select(e => e.Kind).Distinct().Count());
            Assert.StartsWith(Conversation.ImagePlaceholder + "\n", conversation.Turns[0].Text, StringComparison.Ordinal);
            foreach (var (question, answer, kind) in conversation.Exchanges)
            {
                var readings = Readings(question, kind!);
                Assert.True(readings.Count > 0, $"'{question}' is no {kind} phrasing");
                Assert.All(readings, r => Assert.Equal(heldOut, r.Phrasing.HeldOut));
                foreach (var (phrasing, named) in readings)
                {
                    Assert.Equal(ExpectedAnswer(phrasing, named, className), answer);
                }
                if (kind == InstructionPhrasings.YesNo)
                {
                    yesNo++;
                    yes += answer == "yes" ? 1 : 0;
                }
                if (kind == InstructionPhrasings.Choice)
                {
                    rightOptionAt[Array.IndexOf(readings[0].Named, className)]++;
                }
            }
        }
        Assert.InRange(yes / (double)yesNo, 0.4, 0.6);
        Assert.All(rightOptionAt, n => Assert.True(n > 100, $"the right option's positions: {string.Join(", ", rightOptionAt)}"));
    }

    [Fact]
    public void Should_draw_the_same_conversation_for_the_same_row_and_seed_and_vary_over_rows_and_seeds()
    {
        Assert.Equal(FashionMnistInstructions.ForRow(41, 7, heldOut: false), FashionMnistInstructions.ForRow(41, 7, heldOut: false));
        var overRows = Enumerable.Range(0, 50).Select(r => FashionMnistInstructions.ForRow(r, 7, heldOut: false).ToJson()).Distinct().Count();
        var overSeeds = Enumerable.Range(0, 50).Select(s => FashionMnistInstructions.ForRow(41, 7, false, (ulong)s).ToJson()).Distinct().Count();
        Assert.True(overRows > 25, $"{overRows} distinct conversations over 50 rows");
        Assert.True(overSeeds > 25, $"{overSeeds} distinct conversations over 50 seeds");
    }

    [Fact]
    public void Should_store_a_rows_conversation_as_readable_llava_json_that_does_not_change_across_versions()
    {
        var json = FashionMnistInstructions.ForRow(2, 5, heldOut: false).ToJson();

        Assert.Equal(
            """[{"from":"human","value":"<image>\nWhich category does this belong to: t-shirt, sneaker or sandal?","kind":"choice"},"""
            + """{"from":"gpt","value":"sandal"},{"from":"human","value":"What kind of item is this?","kind":"category"},{"from":"gpt","value":"a sandal"}]""",
            json);
    }

    [Fact]
    public void Should_keep_answers_in_their_short_forms()
    {
        var answers = Enumerable.Range(0, 500)
            .SelectMany(r => FashionMnistInstructions.ForRow(r, r % 10, heldOut: r % 2 == 0).Exchanges)
            .GroupBy(e => e.Kind!)
            .ToDictionary(g => g.Key, g => g.Select(e => e.Answer).ToHashSet());

        Assert.Equal(CategoryAnswers.Values.ToHashSet(), answers[InstructionPhrasings.Category]);
        Assert.Equal(["no", "yes"], answers[InstructionPhrasings.YesNo].Order());
        Assert.Equal(ClassNames.FashionMnist.ToHashSet(), answers[InstructionPhrasings.Choice]);
    }

    /// <summary>Every phrasing of the kind the question could have come from, with the class names it names.</summary>
    private static List<(QuestionPhrasing Phrasing, string[] Named)> Readings(string question, string kind)
    {
        var readings = new List<(QuestionPhrasing, string[])>();
        foreach (var phrasing in InstructionPhrasings.All.Where(p => p.Kind == kind))
        {
            var pattern = Regex.Escape(phrasing.Template);
            foreach (var slot in new[] { "a", "a1", "a2", "a3" })
            {
                pattern = pattern.Replace($"\\{{{slot}}}", "an? (.+?)", StringComparison.Ordinal);
            }
            foreach (var slot in new[] { "1", "2", "3" })
            {
                pattern = pattern.Replace($"\\{{{slot}}}", "(.+?)", StringComparison.Ordinal);
            }
            var match = Regex.Match(question, $"^{pattern}$");
            var named = match.Groups.Values.Skip(1).Select(g => g.Value).ToArray();
            if (match.Success && named.All(ClassNames.FashionMnist.Contains))
            {
                readings.Add((phrasing, named));
            }
        }
        return readings;
    }

    private static string ExpectedAnswer(QuestionPhrasing phrasing, string[] named, string className)
    {
        if (phrasing.Kind == InstructionPhrasings.Category)
        {
            return CategoryAnswers[className];
        }
        if (phrasing.Kind == InstructionPhrasings.Choice)
        {
            Assert.Equal(3, named.Distinct().Count());
            Assert.Contains(className, named);
            return className;
        }
        var truth = phrasing.Attribute switch
        {
            InstructionPhrasings.IsClass => named.Single() == className,
            ItemAttributes.FootwearName => Footwear.Contains(className),
            ItemAttributes.UpperBodyName => UpperBody.Contains(className),
            ItemAttributes.BagName => className == "bag",
            ItemAttributes.WearableName => className != "bag",
            _ => throw new InvalidOperationException($"unknown attribute {phrasing.Attribute}"),
        };
        return truth ? "yes" : "no";
    }
}
