using System;
using System.Collections.Generic;
using System.Linq;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Quickstart;

/// <summary>
/// The console the demo writes to, set up for where its output goes. A terminal gets colours,
/// rules and the live routing table; anything else (a file, a pipe, CI, <c>TERM=dumb</c>) gets plain
/// lines: no escape sequences, no wrapping, each table printed once. <c>NO_COLOR</c> removes every
/// style (colour and bold alike) in both.
/// </summary>
public static class DemoConsole
{
    // Wide enough that no line the demo prints (a JSON body, an exception) is ever wrapped.
    private const int PlainWidth = 100_000;

    // A heading in plain output: the width of the README's sample.
    private const int HeadingWidth = 85;

    // Variables that CI systems set; their logs are files even when a pseudo-terminal is attached.
    private static readonly string[] CiVariables = ["CI", "TF_BUILD", "GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL", "BUILDKITE", "TEAMCITY_VERSION"];

    /// <summary>Creates the console for this process's standard output.</summary>
    public static IAnsiConsole Create()
    {
        var noColor = Environment.GetEnvironmentVariable("NO_COLOR") is { Length: > 0 };
        if (!IsTerminal())
        {
            var plain = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Ansi = AnsiSupport.No,
                ColorSystem = ColorSystemSupport.NoColors,
                Interactive = InteractionSupport.No,
                Out = new AnsiConsoleOutput(Console.Out),
                // The CI enrichers would turn ANSI back on.
                Enrichment = new ProfileEnrichment { UseDefaultEnrichers = false },
            });
            plain.Profile.Width = PlainWidth;
            plain.Pipeline.Attach(new Unstyled(keepControlCodes: false));
            return plain;
        }

        var terminal = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Detect,
            ColorSystem = noColor ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Interactive = InteractionSupport.Yes,
            Out = new AnsiConsoleOutput(Console.Out),
        });
        if (noColor)
        {
            // Spectre drops colours for NO_COLOR but keeps bold and the like; the cursor movements of
            // the live table stay.
            terminal.Pipeline.Attach(new Unstyled(keepControlCodes: true));
        }

        return terminal;
    }

    /// <summary>Whether the live table and rules can be drawn: only on a terminal that handles escape codes.</summary>
    public static bool IsLive(this IAnsiConsole console) => console.Profile.Capabilities is { Interactive: true, Ansi: true };

    /// <summary>A scene's heading: a rule on a terminal, a line of fixed width elsewhere.</summary>
    public static void Heading(this IAnsiConsole console, string title)
    {
        if (console.IsLive())
        {
            console.Write(new Rule($"[bold]{Markup.Escape(title)}[/]").LeftJustified());
            return;
        }

        var line = $"── {title} ";
        console.WriteLine(line + new string('─', Math.Max(3, HeadingWidth - line.Length)));
    }

    private static bool IsTerminal() =>
        !Console.IsOutputRedirected
        && !string.Equals(Environment.GetEnvironmentVariable("TERM"), "dumb", StringComparison.Ordinal)
        && !CiVariables.Any(v => Environment.GetEnvironmentVariable(v) is { Length: > 0 } value && !string.Equals(value, "false", StringComparison.OrdinalIgnoreCase));

    // The last step of every write: each segment loses its style, and in plain output its control codes.
    private sealed class Unstyled(bool keepControlCodes) : IRenderHook
    {
        public IEnumerable<IRenderable> Process(RenderOptions options, IEnumerable<IRenderable> renderables) =>
            renderables.Select(r => (IRenderable)new Stripped(r, keepControlCodes));
    }

    private sealed class Stripped(IRenderable inner, bool keepControlCodes) : IRenderable
    {
        public Measurement Measure(RenderOptions options, int maxWidth) => inner.Measure(options, maxWidth);

        public IEnumerable<Segment> Render(RenderOptions options, int maxWidth)
        {
            foreach (var segment in inner.Render(options, maxWidth))
            {
                if (segment.IsControlCode)
                {
                    if (keepControlCodes)
                    {
                        yield return segment;
                    }
                }
                else if (segment.IsLineBreak || segment.Style.Equals(Style.Plain))
                {
                    yield return segment;
                }
                else
                {
                    yield return new Segment(segment.Text, Style.Plain);
                }
            }
        }
    }
}
