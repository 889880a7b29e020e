using System.Text.Json;
using MmCluster.Shared.Text;
using Xunit;

namespace MmCluster.Shared.Tests.Text;

public sealed class ClipTokenizerSpecs
{
    /// <summary>
    /// Texts chosen for punctuation, digits, accents, runs of white space, HTML references, upper case, a text past 77
    /// tokens, the empty text, Greek capitals (final sigma, also after cased letters outside the BMP), U+0130, scripts
    /// and symbols outside the BMP, contractions and the special tokens written in a text. The ids are the output of
    /// bench/clip_tokenizer_reference.py (a port of OpenCLIP's SimpleTokenizer with Python's html.unescape, str.lower
    /// and the regex module; ftfy left out as here), run on these texts and pasted unchanged.
    /// </summary>
    public static TheoryData<string, int[]> FurtherTexts { get; } = new()
    {
        { "Hello, World!!! It's 3.14159 o'clock... (really?) #1 [test] {ok} a-b_c/d\\e", [49406, 3306, 267, 1002, 995, 585, 568, 274, 269, 272, 275, 272, 276, 280, 334, 262, 6716, 678, 263, 1414, 9626, 258, 272, 314, 1628, 316, 346, 2481, 348, 320, 268, 321, 318, 322, 270, 323, 315, 324, 49407] },
        { "Café crème brûlée, über naïve piñata: señor Müller's jalapeño", [49406, 15304, 1075, 12138, 614, 711, 127, 119, 75, 13489, 267, 6522, 1516, 1097, 35689, 563, 741, 6445, 4236, 281, 43368, 541, 28142, 7722, 568, 43017, 49407] },
        { "   a     dog \t\n  on   the\u00A0beach\u3000at  night   ", [49406, 320, 1929, 525, 518, 2117, 536, 930, 49407] },
        { "Tom &amp; Jerry &lt;3 &quot;cartoon&quot; &#39;classic&#39; &amp;amp; &eacute;t&eacute; &hellip; &ampfoo &#150; &#x1F600;", [49406, 2435, 261, 9164, 283, 274, 257, 7651, 257, 262, 2713, 262, 261, 3459, 39694, 959, 261, 23435, 1224, 7334, 49407] },
        { "A PHOTO OF THE EIFFEL TOWER IN PARIS", [49406, 320, 1125, 539, 518, 29720, 4730, 530, 3445, 49407] },
        { string.Concat(Enumerable.Repeat("the quick brown fox jumps over the lazy dog, ", 12)), [49406, 518, 3712, 2866, 3240, 18911, 962, 518, 10753, 1929, 267, 518, 3712, 2866, 3240, 18911, 962, 518, 10753, 1929, 267, 518, 3712, 2866, 3240, 18911, 962, 518, 10753, 1929, 267, 518, 3712, 2866, 3240, 18911, 962, 518, 10753, 1929, 267, 518, 3712, 2866, 3240, 18911, 962, 518, 10753, 1929, 267, 518, 3712, 2866, 3240, 18911, 962, 518, 10753, 1929, 267, 518, 3712, 2866, 3240, 18911, 962, 518, 10753, 1929, 267, 518, 3712, 2866, 3240, 18911, 49407] },
        { "", [49406, 49407] },
        { "ΟΔΟΣ ΣΟΦΙΑΣ and İstanbul", [49406, 138, 123, 138, 112, 138, 123, 139, 480, 139, 225, 138, 123, 139, 228, 138, 117, 138, 109, 139, 480, 537, 328, 16384, 11231, 49407] },
        { "日本語のテキスト \U0001F600\U0001F44D x²³ ½ ① \U0001D400\U0001D401c", [49406, 39121, 44353, 34002, 252, 21575, 2429, 228, 47121, 32421, 486, 12832, 4201, 343, 41175, 126, 367, 33613, 158, 239, 510, 15889, 222, 15889, 223, 322, 49407] },
        { "I'll say we've they're DON'T you'd I'm ''s", [49406, 328, 1342, 1451, 649, 1200, 889, 982, 847, 713, 592, 1896, 328, 880, 8445, 338, 49407] },
        { "Adlam \U0001E916.Σ and Deseret \U00010400Σ, not \U0001E916Σx", [49406, 594, 5704, 172, 252, 97, 372, 269, 139, 480, 537, 27195, 10048, 172, 238, 238, 101, 139, 480, 267, 783, 172, 252, 97, 116, 139, 225, 343, 49407] },
        { "a <start_of_text> b <end_of_text> c!<end_of_text>", [49406, 320, 49406, 321, 49407, 322, 0, 283, 806, 318, 539, 318, 4160, 285, 49407] },
    };

    public static TheoryData<string, int[]> OpenClipReference()
    {
        using var stream = typeof(ClipTokenizerSpecs).Assembly.GetManifestResourceStream("MmCluster.Shared.Tests.Text.clip-reference-ids.jsonl")!;
        using var reader = new StreamReader(stream);
        var data = new TheoryData<string, int[]>();
        while (reader.ReadLine() is { Length: > 0 } line)
        {
            var row = JsonDocument.Parse(line).RootElement;
            data.Add(row.GetProperty("text").GetString()!, [.. row.GetProperty("ids").EnumerateArray().Select(id => id.GetInt32())]);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(OpenClipReference))]
    public void Should_give_openclips_ids_when_a_reference_sentence_is_tokenized(string text, int[] expected)
    {
        Assert.Equal(expected, ClipTokenizer.Default.Tokenize(text));
    }

    [Theory]
    [MemberData(nameof(FurtherTexts))]
    public void Should_give_the_python_references_ids_when_a_further_text_is_tokenized(string text, int[] expected)
    {
        Assert.Equal(expected, ClipTokenizer.Default.Tokenize(text));
    }

    [Fact]
    public void Should_keep_77_ids_with_the_end_token_last_when_the_text_is_longer()
    {
        var text = string.Concat(Enumerable.Repeat("a photo of a cat. ", 40));

        var ids = ClipTokenizer.Default.Tokenize(text);
        var row = new long[ClipTokenizer.DefaultContextLength];
        ClipTokenizer.Default.EncodeRow(text, row);

        Assert.Equal(ClipTokenizer.DefaultContextLength, ids.Length);
        Assert.Equal((ClipTokenizer.StartOfTextId, ClipTokenizer.EndOfTextId), (ids[0], ids[^1]));
        Assert.Equal(ClipTokenizer.Default.Encode(text).Take(75), ids[1..^1]);
        Assert.Equal(ids.Select(id => (long)id), row);
    }

    [Fact]
    public void Should_pad_with_zeros_after_start_and_end_when_the_text_is_empty()
    {
        var rows = ClipTokenizer.Default.EncodeBatch(["", "a photo of a cat."]);

        Assert.Equal(2 * 77, rows.Length);
        Assert.Equal([ClipTokenizer.StartOfTextId, ClipTokenizer.EndOfTextId, .. new long[75]], rows[..77]);
        Assert.Equal([49406, 320, 1125, 539, 320, 2368, 269, 49407, .. new long[69]], rows[77..]);
    }

    [Fact]
    public void Should_name_the_tokens_when_the_embedded_vocabulary_is_loaded()
    {
        var tokenizer = ClipTokenizer.Default;

        Assert.Equal(("!", "!</w>", "in", "a</w>", "photo</w>"), (tokenizer.TokenText(0), tokenizer.TokenText(256), tokenizer.TokenText(512), tokenizer.TokenText(320), tokenizer.TokenText(1125)));
        Assert.Equal(("<start_of_text>", "<end_of_text>"), (tokenizer.TokenText(49406), tokenizer.TokenText(49407)));
    }

    [Fact]
    public void Should_give_each_text_its_own_ids_when_many_threads_tokenize_at_once()
    {
        var tokenizer = ClipTokenizer.FromGzip(ClipTokenizer.OpenEmbeddedVocabulary());
        var texts = FurtherTexts.Select(row => (string)row[0]).ToArray();
        var expected = FurtherTexts.Select(row => (int[])row[1]).ToArray();

        var results = new int[64 * texts.Length][];
        Parallel.For(0, results.Length, i => results[i] = tokenizer.Tokenize(texts[i % texts.Length]));

        Assert.All(Enumerable.Range(0, results.Length), i => Assert.Equal(expected[i % texts.Length], results[i]));
    }

    [Theory]
    [InlineData("&amp;amp;", "&amp;")]
    [InlineData("&#x80;&#150;", "\u20AC\u2013")]
    [InlineData("&#0;x&#1;y&#xD800;", "\uFFFDxy\uFFFD")]
    [InlineData("&ampx &notit;", "&x \u00ACit;")]
    [InlineData("&unknown; &", "&unknown; &")]
    [InlineData("&NewLine;&eacute", "\n\u00E9")]
    [InlineData("&#99999999999999999999;", "\uFFFD")]
    public void Should_unescape_as_python_does_when_a_text_holds_character_references(string text, string expected)
    {
        // Expected values: Python 3.11's html.unescape on the same text.
        Assert.Equal(expected, HtmlCharacterReferences.Unescape(text));
    }
}
