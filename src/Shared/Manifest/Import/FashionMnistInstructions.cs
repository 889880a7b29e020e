namespace MmCluster.Shared.Manifest.Import;

/// <summary>
/// Renders a Fashion-MNIST row into an instruction conversation of 2 or 3 exchanges about its image, each of a different
/// kind (<see cref="InstructionPhrasings"/>), all answerable from the label: <c>category</c> ("What is the item in the
/// image?" -> "a sneaker"), <c>yes-no</c> about an attribute of the class (<see cref="Attributes"/>) or about a class
/// named in the question ("yes"/"no", half of them "yes"), and <c>choice</c> among three classes, the right one included, in
/// shuffled order (the bare class name). Answers are short and always take the same form, so a small language model can
/// learn them. Everything is drawn from a SplitMix64 seeded by (seed, row): an import is reproducible.
/// </summary>
public static class FashionMnistInstructions
{
    private const ulong Salt = 0x1A57_2C71_0A5E_0001UL;   // keeps the draws apart from the caption template's

    /// <summary>The attributes of each Fashion-MNIST class, in label order (the names of <see cref="ClassNames.FashionMnist"/>).</summary>
    public static IReadOnlyList<ItemAttributes> Attributes { get; } =
    [
        new("t-shirt", Footwear: false, UpperBody: true, Bag: false),
        new("trouser", Footwear: false, UpperBody: false, Bag: false),
        new("pullover", Footwear: false, UpperBody: true, Bag: false),
        new("dress", Footwear: false, UpperBody: false, Bag: false),
        new("coat", Footwear: false, UpperBody: true, Bag: false),
        new("sandal", Footwear: true, UpperBody: false, Bag: false),
        new("shirt", Footwear: false, UpperBody: true, Bag: false),
        new("sneaker", Footwear: true, UpperBody: false, Bag: false),
        new("bag", Footwear: false, UpperBody: false, Bag: true),
        new("ankle boot", Footwear: true, UpperBody: false, Bag: false),
    ];

    /// <summary>
    /// The conversation of row <paramref name="row"/> whose label is <paramref name="label"/>, with training phrasings, or
    /// held-out ones when <paramref name="heldOut"/>.
    /// </summary>
    public static Conversation ForRow(long row, int label, bool heldOut, ulong seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(label);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(label, Attributes.Count);
        var random = new SplitMix64(SplitMix64.Mix(SplitMix64.Mix(seed ^ Salt) ^ (ulong)row));
        var kinds = InstructionPhrasings.Kinds.ToArray();
        Shuffle(kinds, ref random);
        var turns = new List<ConversationTurn>();
        foreach (var kind in kinds.Take(2 + random.NextInt(2)))
        {
            var (question, answer) = kind switch
            {
                InstructionPhrasings.Category => Category(label, heldOut, ref random),
                InstructionPhrasings.YesNo => YesNo(label, heldOut, ref random),
                _ => Choice(label, heldOut, ref random),
            };
            turns.Add(new ConversationTurn(ConversationRole.User, question, kind));
            turns.Add(new ConversationTurn(ConversationRole.Assistant, answer));
        }
        return new Conversation(turns);
    }

    /// <summary>A class name with its article: "a sneaker", "an ankle boot" (the category answer).</summary>
    public static string WithArticle(string className) =>
        ("aeiou".Contains(char.ToLowerInvariant(className[0])) ? "an " : "a ") + className;

    private static (string Question, string Answer) Category(int label, bool heldOut, ref SplitMix64 random)
    {
        var phrasing = Pick(InstructionPhrasings.For(InstructionPhrasings.Category, heldOut), ref random);
        return (phrasing.Template, WithArticle(Attributes[label].ClassName));
    }

    private static (string Question, string Answer) YesNo(int label, bool heldOut, ref SplitMix64 random)
    {
        var yes = random.NextInt(2) == 0;
        var item = Attributes[label];
        // Every attribute phrasing whose answer for this class is the one drawn, and "is this a ...?" (always askable both ways).
        var phrasings = InstructionPhrasings.For(InstructionPhrasings.YesNo, heldOut)
            .Where(p => p.Attribute == InstructionPhrasings.IsClass || item.Has(p.Attribute!) == yes)
            .ToList();
        var phrasing = Pick(phrasings, ref random);
        var asked = phrasing.Attribute != InstructionPhrasings.IsClass ? label : yes ? label : Other(label, [], ref random);
        return (phrasing.Template.Replace("{a}", WithArticle(Attributes[asked].ClassName), StringComparison.Ordinal), yes ? "yes" : "no");
    }

    private static (string Question, string Answer) Choice(int label, bool heldOut, ref SplitMix64 random)
    {
        var first = Other(label, [], ref random);
        int[] options = [label, first, Other(label, [first], ref random)];
        Shuffle(options, ref random);
        var question = Pick(InstructionPhrasings.For(InstructionPhrasings.Choice, heldOut), ref random).Template;
        for (var i = 0; i < options.Length; i++)
        {
            var name = Attributes[options[i]].ClassName;
            question = question.Replace($"{{a{i + 1}}}", WithArticle(name), StringComparison.Ordinal)
                .Replace($"{{{i + 1}}}", name, StringComparison.Ordinal);
        }
        return (question, Attributes[label].ClassName);
    }

    /// <summary>A class other than <paramref name="label"/> and those in <paramref name="taken"/>, uniformly.</summary>
    private static int Other(int label, int[] taken, ref SplitMix64 random)
    {
        var others = Enumerable.Range(0, Attributes.Count).Where(c => c != label && !taken.Contains(c)).ToList();
        return others[random.NextInt(others.Count)];
    }

    private static QuestionPhrasing Pick(IReadOnlyList<QuestionPhrasing> phrasings, ref SplitMix64 random) =>
        phrasings[random.NextInt(phrasings.Count)];

    private static void Shuffle<T>(T[] items, ref SplitMix64 random)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = random.NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
