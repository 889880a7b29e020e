using System.Buffers;
using System.Globalization;
using System.Text;

namespace MmCluster.Shared.Text;

/// <summary>
/// Splits cleaned text into the pieces CLIP's BPE sees, as OpenCLIP's <c>re.findall</c> with
/// <c>&lt;start_of_text&gt;|&lt;end_of_text&gt;|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+</c> (case-insensitive)
/// does: at each position the first alternative that matches wins, and the next search starts where it ended.
/// Hand-written rather than a .NET Regex so that characters outside the BMP are classified as whole code points
/// (a .NET Regex sees two surrogates, neither a letter) and no match objects are allocated.
/// </summary>
public static class ClipPreTokenizer
{
    public const string StartOfText = "<start_of_text>";
    public const string EndOfText = "<end_of_text>";

    private static readonly string[] Contractions = ["'re", "'ve", "'ll", "'s", "'t", "'m", "'d"];

    /// <summary>The (start, length) of every piece of <paramref name="text"/>, in order.</summary>
    public static List<Range> Split(string text)
    {
        var pieces = new List<Range>();
        var i = 0;
        while (i < text.Length)
        {
            var length = MatchAt(text, i);
            if (length == 0)
            {
                i++; // white space: no alternative matches here
                continue;
            }
            pieces.Add(new Range(i, i + length));
            i += length;
        }
        return pieces;
    }

    private static int MatchAt(string text, int at)
    {
        var rest = text.AsSpan(at);
        if (StartsWithIgnoringCase(rest, StartOfText))
        {
            return StartOfText.Length;
        }
        if (StartsWithIgnoringCase(rest, EndOfText))
        {
            return EndOfText.Length;
        }
        if (rest[0] == '\'')
        {
            foreach (var contraction in Contractions)
            {
                if (StartsWithIgnoringCase(rest, contraction))
                {
                    return contraction.Length;
                }
            }
        }
        var first = Classify(rest, out var width);
        switch (first)
        {
            case CharClass.Space:
                return 0;
            case CharClass.Number:
                return width;
        }
        var end = width;
        while (end < rest.Length && Classify(rest[end..], out var next) == first)
        {
            end += next;
        }
        return end;
    }

    private enum CharClass
    {
        Letter,
        Number,
        Space,
        Other,
    }

    private static CharClass Classify(ReadOnlySpan<char> text, out int width)
    {
        if (Rune.DecodeFromUtf16(text, out var rune, out width) != OperationStatus.Done)
        {
            return CharClass.Other; // a lone surrogate
        }
        if (width == 1 && ClipTextCleaner.IsPythonWhiteSpace(text[0]))
        {
            return CharClass.Space;
        }
        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CharClass.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CharClass.Number,
            _ => CharClass.Other,
        };
    }

    // Case-insensitive as the pattern is; after lower-casing that matters only for the long s (ſ), which folds to s.
    private static bool StartsWithIgnoringCase(ReadOnlySpan<char> text, string literal)
    {
        if (text.Length < literal.Length)
        {
            return false;
        }
        for (var i = 0; i < literal.Length; i++)
        {
            var c = text[i];
            var expected = literal[i];
            if (c != expected && char.ToLowerInvariant(c) != expected && !(expected == 's' && c == '\u017F'))
            {
                return false;
            }
        }
        return true;
    }
}
