using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MmCluster.Shared.Text;
using MmCluster.Worker.Training;

namespace MmCluster.Cli.Commands;

/// <summary>
/// <c>mmcluster bench tokenize --tokenizer clip-bpe|gpt2 --texts FILE [--threads T] [--passes N] [--json]</c>: how fast
/// captions (one per line of FILE) become 77-long rows, as a data loader asks for them: a first pass with an empty
/// cache (every distinct word through BPE), then warm passes (the median is reported), on T threads.
/// </summary>
internal static class BenchTokenizeCommand
{
    private const int ContextLength = ClipTokenizer.DefaultContextLength;

    public static Command Create()
    {
        var tokenizer = new Option<string>("--tokenizer") { Description = "clip-bpe or gpt2.", DefaultValueFactory = _ => "clip-bpe" };
        var texts = new Option<string>("--texts") { Description = "A UTF-8 file, one caption per line.", Required = true };
        var threads = new Option<int>("--threads") { Description = "Threads tokenizing at once.", DefaultValueFactory = _ => 1 };
        var passes = new Option<int>("--passes") { Description = "Warm passes over the texts (the median is reported).", DefaultValueFactory = _ => 3 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var command = new Command("tokenize", "Time turning captions into 77-long token rows (cold cache, then warm).")
        {
            tokenizer, texts, threads, passes, json,
        };
        command.SetAction(result => Run(
            result.InvocationConfiguration.Output, result.InvocationConfiguration.Error, result.GetValue(tokenizer)!, result.GetValue(texts)!,
            result.GetValue(threads), result.GetValue(passes), result.GetValue(json)));
        return command;
    }

    private static int Run(TextWriter output, TextWriter error, string name, string file, int threads, int passes, bool json)
    {
        if (!TokenizeCommand.Tokenizers.Contains(name))
        {
            error.WriteLine($"mmcluster bench tokenize: unknown --tokenizer '{name}'; known: {string.Join(", ", TokenizeCommand.Tokenizers)}");
            return 2;
        }
        if (threads < 1 || passes < 1 || !File.Exists(file))
        {
            error.WriteLine($"mmcluster bench tokenize: --threads and --passes must be at least 1 and --texts an existing file ('{file}')");
            return 2;
        }
        var captions = File.ReadAllLines(file).Where(line => line.Length > 0).ToArray();
        var load = Stopwatch.StartNew();
        Func<string, long[], int> encode = name == "clip-bpe" ? ClipRow(ClipTokenizer.FromGzip(ClipTokenizer.OpenEmbeddedVocabulary())) : Gpt2Row();
        encode("", new long[ContextLength]); // GPT-2's data loads on first use: count it here, not in the first pass
        var loadMs = load.Elapsed.TotalMilliseconds;
        var (coldSeconds, tokens) = Pass(captions, threads, encode);
        var warm = Enumerable.Range(0, passes).Select(_ => Pass(captions, threads, encode).Seconds).Order().ToList();
        var warmSeconds = warm[warm.Count / 2];
        var result = new
        {
            tokenizer = name,
            texts = captions.Length,
            threads,
            ids_per_text = Math.Round((double)tokens / captions.Length, 1),
            load_ms = Math.Round(loadMs, 1),
            cold_texts_per_s = Math.Round(captions.Length / coldSeconds),
            cold_tokens_per_s = Math.Round(tokens / coldSeconds),
            warm_texts_per_s = Math.Round(captions.Length / warmSeconds),
            warm_tokens_per_s = Math.Round(tokens / warmSeconds),
        };
        output.WriteLine(json
            ? JsonSerializer.Serialize(result)
            : string.Create(CultureInfo.InvariantCulture,
                $"{name}: {result.texts:N0} texts ({result.ids_per_text} ids each up to the end token), {threads} thread(s): vocabulary {result.load_ms:F0} ms; "
                + $"first pass {result.cold_texts_per_s:N0} texts/s ({result.cold_tokens_per_s:N0} tokens/s), warm {result.warm_texts_per_s:N0} texts/s ({result.warm_tokens_per_s:N0} tokens/s)"));
        return 0;
    }

    /// <summary>One pass: every caption into a row; the seconds it took and the ids up to each row's end token.</summary>
    private static (double Seconds, long Tokens) Pass(string[] captions, int threads, Func<string, long[], int> encode)
    {
        var tokens = 0L;
        var clock = Stopwatch.StartNew();
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, thread =>
        {
            var row = new long[ContextLength];
            var mine = 0L;
            for (var i = thread; i < captions.Length; i += threads)
            {
                mine += encode(captions[i], row);
            }
            Interlocked.Add(ref tokens, mine);
        });
        return (clock.Elapsed.TotalSeconds, tokens);
    }

    private static Func<string, long[], int> ClipRow(ClipTokenizer tokenizer) => (text, row) =>
    {
        tokenizer.EncodeRow(text, row);
        return row.AsSpan().LastIndexOf(ClipTokenizer.EndOfTextId) + 1;
    };

    private static Func<string, long[], int> Gpt2Row()
    {
        var tokenizer = new CaptionTokenizer(ContextLength);
        return (text, row) =>
        {
            tokenizer.Encode(text, row);
            return row.AsSpan().LastIndexOf(CaptionTokenizer.EndOfText) + 1;
        };
    }
}
