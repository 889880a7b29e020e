using System.Buffers;
using System.Globalization;
using System.Text;

namespace MmCluster.Shared.Text;

/// <summary>
/// OpenCLIP's default text cleaning before BPE (its <c>_clean_lower</c>): <c>basic_clean</c> (ftfy's fixes,
/// <c>html.unescape</c> twice, strip), <c>whitespace_clean</c> (runs of whitespace become one space), then Python's
/// <c>str.lower</c>. ftfy is left out: it repairs mojibake ("cafÃ©" to "café"), curly quotes to straight ones, and
/// similar damage, and clean text passes through it unchanged; captions with such damage get other ids here than
/// in OpenCLIP. Whitespace is Python's (<c>str.isspace</c>), and lower-casing follows Python where .NET differs
/// (U+0130 becomes "i̇"; a capital sigma that ends a word becomes ς).
/// </summary>
public static class ClipTextCleaner
{
    private const char CapitalSigma = '\u03A3';
    private const char CapitalIWithDot = '\u0130';

    public static string Clean(string text)
    {
        var unescaped = HtmlCharacterReferences.Unescape(HtmlCharacterReferences.Unescape(text));
        return Lower(CollapseWhitespace(unescaped));
    }

    /// <summary>Python's <c>str.isspace</c>: .NET's white space plus the separators U+001C-U+001F.</summary>
    public static bool IsPythonWhiteSpace(char c) => char.IsWhiteSpace(c) || c is >= '\u001C' and <= '\u001F';

    /// <summary>Python's <c>" ".join(text.split())</c>: no leading or trailing whitespace, one space between words.</summary>
    public static string CollapseWhitespace(string text)
    {
        var builder = new StringBuilder(text.Length);
        var pendingSpace = false;
        foreach (var c in text)
        {
            if (IsPythonWhiteSpace(c))
            {
                pendingSpace = builder.Length > 0;
                continue;
            }
            if (pendingSpace)
            {
                builder.Append(' ');
                pendingSpace = false;
            }
            builder.Append(c);
        }
        return builder.Length == text.Length ? text : builder.ToString();
    }

    /// <summary>Python's <c>str.lower</c>.</summary>
    public static string Lower(string text)
    {
        var lower = text.ToLowerInvariant();
        if (text.AsSpan().IndexOfAny(CapitalSigma, CapitalIWithDot) < 0)
        {
            return lower;
        }
        var builder = new StringBuilder(text.Length + 4);
        for (var i = 0; i < text.Length; i++)
        {
            builder.Append(text[i] switch
            {
                CapitalIWithDot => "i\u0307",
                CapitalSigma => IsFinalSigma(text, i) ? "\u03C2" : "\u03C3",
                _ => lower[i].ToString(),
            });
        }
        return builder.ToString();
    }

    // Unicode's Final_Sigma context as Python tests it: a cased letter before (past case-ignorable characters), none
    // after. By code point: a cased letter outside the BMP (Adlam, Deseret) counts.
    private static bool IsFinalSigma(string text, int at)
    {
        var before = text.AsSpan(0, at);
        Rune previous;
        do
        {
            if (Rune.DecodeLastFromUtf16(before, out previous, out var width) != OperationStatus.Done)
            {
                return false;
            }
            before = before[..^width];
        }
        while (IsCaseIgnorable(previous));
        if (!IsCased(previous))
        {
            return false;
        }
        var after = text.AsSpan(at + 1);
        while (Rune.DecodeFromUtf16(after, out var next, out var width) == OperationStatus.Done)
        {
            if (!IsCaseIgnorable(next))
            {
                return !IsCased(next);
            }
            after = after[width..];
        }
        return true;
    }

    private static bool IsCased(Rune c) =>
        Rune.GetUnicodeCategory(c) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter;

    // Marks, format characters, modifiers, and the apostrophes, periods and colons that may sit inside a word.
    private static bool IsCaseIgnorable(Rune c) =>
        Rune.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format
            or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol
        || c.Value is '\'' or '.' or ':' or '\u00B7' or '\u0387' or '\u05F4' or '\u2018' or '\u2019' or '\u2024' or '\u2027'
            or '\uFE13' or '\uFE52' or '\uFE55' or '\uFF07' or '\uFF0E' or '\uFF1A';
}
